// Recursion among declarations: a derived model whose base chain comes back to it (`model P =
// Q(…)`, `model Q = P(…)`), or a user layer that calls itself through other layers. Neither has a
// meaning (the language has no conditionals to end a recursion), and unrolling one would never
// stop, so each cycle is a user error with its path. The checker reports every cycle
// (grammar/check/program.ts); instantiation refuses a model that reaches one before any work.
//
// Example: layers `A` calling `B` and `B` calling `A` → { kind: 'layer', names: ['A', 'B', 'A'] }.

import type { Expr, Span, Stmt } from '../ast.ts';
import { LowerError } from './errors.ts';
import type { DeclIndex } from './params.ts';

export interface Cycle {
  kind: 'model' | 'layer';
  /** The declarations on the cycle, the first repeated at the end: `A → B → A`. */
  names: string[];
  /** Where each step is taken (a call, or a derived model's base), one per arrow. */
  steps: Span[];
  /** The first declaration's name, where the cycle is reported. */
  span: Span;
}

type Edge = { to: string; span: Span };

/** Every cycle among derived models and among user layers, each once, in declaration order. */
export function findCycles(index: DeclIndex): Cycle[] {
  const modelEdges = new Map<string, Edge[]>();
  const spans = new Map<string, Span>();
  for (const [name, d] of index.models) {
    spans.set(`model:${name}`, d.name.span);
    modelEdges.set(name, d.kind === 'derived' && index.models.has(d.base.name) ? [{ to: d.base.name, span: d.base.span }] : []);
  }
  const layerEdges = new Map<string, Edge[]>();
  for (const [name, d] of index.layers) {
    spans.set(`layer:${name}`, d.name.span);
    layerEdges.set(name, layerCalls(d.body, index));
  }
  return [...cyclesOf('model', modelEdges, spans), ...cyclesOf('layer', layerEdges, spans)];
}

/** The first cycle among the layers a body reaches, if any. */
export function layerCycleFrom(body: readonly Stmt[], index: DeclIndex): Cycle | undefined {
  const edges = new Map<string, Edge[]>();
  const spans = new Map<string, Span>();
  const todo = layerCalls(body, index).map((e) => e.to);
  for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
    const d = index.layers.get(name);
    if (d === undefined || edges.has(name)) continue;
    spans.set(`layer:${name}`, d.name.span);
    const out = layerCalls(d.body, index);
    edges.set(name, out);
    for (const e of out) todo.push(e.to);
  }
  return cyclesOf('layer', edges, spans)[0];
}

/** The diagnostic of a cycle: where it starts, its path, and each step as a note. */
export function cycleError(c: Cycle): LowerError {
  const path = c.names.map((n) => `\`${n}\``).join(' → ');
  const first = c.names[0] ?? '';
  const message = c.kind === 'model' ? `model \`${first}\` derives from itself: ${path}` : `layer \`${first}\` calls itself: ${path}`;
  const notes = c.steps.map((span, k) => ({
    message: c.kind === 'model' ? `\`${c.names[k]}\` derives from \`${c.names[k + 1]}\` here` : `\`${c.names[k]}\` calls \`${c.names[k + 1]}\` here`,
    span,
  }));
  const fix = c.kind === 'model' ? 'derive one of them from a model with a body' : 'a layer cannot call itself; unroll with `repeat` in the model instead';
  return new LowerError('E0314', message, c.span, notes, fix);
}

function cyclesOf(kind: Cycle['kind'], edges: ReadonlyMap<string, readonly Edge[]>, spans: ReadonlyMap<string, Span>): Cycle[] {
  const done = new Set<string>();
  const out: Cycle[] = [];
  // Iterative depth-first search (a long chain of layers must not overflow the stack here either).
  for (const root of edges.keys()) {
    if (done.has(root)) continue;
    const stack: { name: string; via: Span | undefined; next: number }[] = [{ name: root, via: undefined, next: 0 }];
    const onStack = new Map<string, number>([[root, 0]]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const e = edges.get(top.name)?.[top.next++];
      if (e === undefined) {
        stack.pop();
        onStack.delete(top.name);
        done.add(top.name);
        continue;
      }
      const at = onStack.get(e.to);
      if (at !== undefined) {
        const on = stack.slice(at);
        out.push({
          kind,
          names: [...on.map((f) => f.name), e.to],
          steps: [...on.slice(1).map((f) => f.via!), e.span],
          span: spans.get(`${kind}:${e.to}`)!,
        });
        continue;
      }
      if (done.has(e.to) || !edges.has(e.to)) continue;
      onStack.set(e.to, stack.length);
      stack.push({ name: e.to, via: e.span, next: 0 });
    }
  }
  return out;
}

/** Calls of user layers in a body, in source order (with their callee's span). */
function layerCalls(body: readonly Stmt[], index: DeclIndex): Edge[] {
  const out: Edge[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const x of node) visit(x);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const e = node as Expr;
    if (e.kind === 'call' && e.callee.kind === 'ref' && e.callee.path.length === 1) {
      const head = e.callee.path[0];
      if (head?.kind === 'name' && index.layers.has(head.name)) out.push({ to: head.name, span: e.callee.span });
    }
    for (const [k, v] of Object.entries(node)) if (k !== 'span' && typeof v === 'object') visit(v);
  };
  visit(body);
  return out;
}
