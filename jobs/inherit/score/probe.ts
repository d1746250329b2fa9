// Finding the values data-driven importance looks at in a lowered model, and rewriting its graph
// to measure them: the input of a Linear (FFN hidden, merged attention heads) found structurally
// from its weight, the hidden state at every layer boundary of the stack, a next-token loss
// output, and a rebuild that substitutes one node for another (skip a layer, mask units).
//
// Note: like inherit-model.ts this runs the parent on the reference interpreter, so it builds IR with the
// compiler's builder (runtime/ otherwise imports compiler types only).

import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { crossEntropy } from '../../../compiler/ir/compose.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';
import type { InstExpr } from '../../../grammar/eval/instantiate.ts';
import type { LoweredModel } from '../../../compiler/lower/lower-model.ts';
import type { AxisGroup } from '../layout/axes.ts';
import { InheritError } from '../layout/layout.ts';

/**
 * The activation a weight W multiplies: x in `matmul(x, permute(W))` (a Linear) or x in
 * `conv2d(x, W)`. Returns the node id and the axis its input features lie on.
 */
export function weightInput(graph: Graph, weight: string): { node: number; axis: number } | undefined {
  const param = graph.nodes.find((n) => n.op === 'param' && n.attrs['name'] === weight);
  if (param === undefined) return undefined;
  const readers = new Set<number>([param.id]);
  for (const n of graph.nodes) if ((n.op === 'permute' || n.op === 'reshape') && n.inputs[0] === param.id) readers.add(n.id);
  for (const n of graph.nodes) {
    if (n.op === 'matmul' && readers.has(n.inputs[1] as number)) return { node: n.inputs[0] as number, axis: -1 };
    if (n.op === 'conv2d' && n.inputs[1] === param.id) return { node: n.inputs[0] as number, axis: 1 };
  }
  return undefined;
}

/** Where a group's units flow as values: the activation its input-axis weight reads. */
export function groupSite(graph: Graph, g: AxisGroup): { node: number; axis: number; offset: number; unit: number } | undefined {
  for (const m of g.members) {
    if (m.axis !== 1 || !m.path.endsWith('.weight')) continue;
    const w = weightInput(graph, m.path);
    if (w !== undefined) return { ...w, offset: m.offset, unit: m.unit };
  }
  return undefined;
}

/** Statement ids (`h@3`) that an instantiated expression reads, in evaluation order. */
function varsOf(e: InstExpr, out: string[]): string[] {
  switch (e.kind) {
    case 'var':
      out.push(e.id);
      break;
    case 'call':
      for (const a of [...Object.values(e.args), ...e.rest]) varsOf(a, out);
      break;
    case 'binary':
      varsOf(e.left, out);
      varsOf(e.right, out);
      break;
    case 'neg':
      varsOf(e.arg, out);
      break;
    case 'tap':
      varsOf(e.value, out);
      break;
    case 'const':
      break;
  }
  return out;
}

function pathsOf(e: InstExpr, out: Set<string>): Set<string> {
  if (e.kind === 'call') {
    if (e.path !== undefined) out.add(e.path);
    for (const a of [...Object.values(e.args), ...e.rest]) pathsOf(a, out);
  } else if (e.kind === 'binary') {
    pathsOf(e.left, out);
    pathsOf(e.right, out);
  } else if (e.kind === 'neg') pathsOf(e.arg, out);
  else if (e.kind === 'tap') pathsOf(e.value, out);
  return out;
}

/**
 * The hidden state entering each layer of the stack and leaving the last one: boundaries[i] is
 * layer i's input (node id), boundaries[depth] the last layer's output. Layer i's output is the
 * value of the last statement that calls into `stack.i`; layer 0's input is the first value that
 * its first statement reads. Throws when a layer's input and output differ in shape (not a
 * residual stack, so neither skipping it nor comparing them makes sense).
 */
export function layerBoundaries(m: LoweredModel, stack: { name: string; depth: number }): number[] {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const re = new RegExp(`^${stack.name}\\.(\\d+)(\\.|$)`);
  m.instance.stmts.forEach((s, k) => {
    for (const p of pathsOf(s.value, new Set())) {
      const hit = re.exec(p);
      if (hit === null) continue;
      const i = Number(hit[1]);
      if (!first.has(i)) first.set(i, k);
      last.set(i, k);
    }
  });
  // A statement's node: taps key it by id, but a first binding's id is its name, which later
  // bindings of the name take over (`h`); then its layer call's path names the same node.
  const stmtNode = (k: number): number => {
    const s = m.instance.stmts[k]!;
    const rebound = m.instance.stmts.slice(k + 1).some((t) => t.name === s.id);
    const path = s.value.kind === 'call' || s.value.kind === 'tap' ? s.value.path : undefined;
    const n = rebound ? (path === undefined ? undefined : m.taps.get(path)) : m.taps.get(s.id);
    if (n === undefined)
      throw new InheritError([`cannot find the node of '${s.name}' (statement ${k + 1} of ${m.instance.name}); give it a fresh name or an \`as\` path`]);
    return n;
  };
  const out: number[] = [];
  for (let i = 0; i < stack.depth; i++) {
    const f = first.get(i);
    const l = last.get(i);
    if (f === undefined || l === undefined) throw new InheritError([`layer ${stack.name}.${i} makes no layer call with a path; cannot find its hidden states`]);
    if (i === 0) {
      const stmt = m.instance.stmts[f]!;
      const earlier = m.instance.stmts.slice(0, f);
      const input = varsOf(stmt.value, []).find((v) => earlier.some((s) => s.id === v));
      if (input === undefined) throw new InheritError([`layer ${stack.name}.0 reads no earlier value; cannot find its input hidden state`]);
      out.push(stmtNode(earlier.findIndex((s) => s.id === input)));
    }
    out.push(stmtNode(l));
  }
  const shape = (id: number) => (m.graph.nodes[id] as Node).shape.join(',');
  for (let i = 0; i < stack.depth; i++) {
    if (shape(out[i]!) !== shape(out[i + 1]!))
      throw new InheritError([
        `layer ${stack.name}.${i} maps [${shape(out[i]!)}] to [${shape(out[i + 1]!)}]: block influence and drop-one need layers that keep the hidden state's shape`,
      ]);
  }
  return out;
}

/**
 * The values written into the residual stream of a layer stack: the stream's first value (the
 * embedding output, layer 0's input) and the branch each residual add puts on it (attention and
 * FFN outputs). A residual add is an `add` of the stream's shape with exactly one input on the
 * stream. Scaling every write by m scales the whole stream by m, so for a 0/1 mask it is the
 * stream with channels removed, and each write is scaled once (unlike masking every add's output).
 */
export function residualWrites(m: LoweredModel, stack: { name: string; depth: number }): number[] {
  const bounds = layerBoundaries(m, stack);
  const start = bounds[0]!;
  const shape = (m.graph.nodes[start] as Node).shape.join(',');
  const stream = new Set([start]);
  const writes = [start];
  for (const n of m.graph.nodes) {
    if (n.id <= start || n.op !== 'add' || n.shape.join(',') !== shape) continue;
    const on = n.inputs.filter((i) => stream.has(i));
    if (on.length !== 1) continue;
    stream.add(n.id);
    writes.push(n.inputs.find((i) => !stream.has(i)) as number);
  }
  const missed = bounds.filter((b) => !stream.has(b));
  if (missed.length > 0)
    throw new InheritError([`${m.instance.name}: the residual stream does not run through plain adds from layer to layer, so its width cannot be masked`]);
  return writes;
}

export interface Rebuilt {
  readonly graph: Graph;
  /** Old node id → new node. */
  readonly map: readonly Node[];
  readonly builder: GraphBuilder;
}

/**
 * Re-emits `graph` into a fresh builder; `substitute(old, made, b, map)` may return a replacement
 * for a node (built from `made`, its re-emitted self, or already-mapped nodes), which every later reader then sees. `extend` adds nodes
 * and outputs before the graph is built.
 */
export function rebuild(
  graph: Graph,
  substitute: (old: Node, made: Node, b: GraphBuilder, map: readonly Node[]) => Node | undefined,
  extend?: (b: GraphBuilder, map: readonly Node[]) => void,
): Rebuilt {
  const b = new GraphBuilder();
  const map: Node[] = [];
  for (const n of graph.nodes) {
    const ins = n.inputs.map((i) => map[i] as Node);
    const made = b.withSpan(n.span, () => b.apply(n.op, ins, n.attrs));
    map[n.id] = b.withSpan(n.span, () => substitute(n, made, b, map)) ?? made;
  }
  for (const o of graph.outputs) b.output(o.name, map[o.node] as Node);
  extend?.(b, map);
  return { graph: b.build(), map, builder: b };
}

/** The next-token language-model shape a parent must have for calibration: tokens in, logits out. */
export interface LmShape {
  readonly tokens: string;
  readonly logits: string;
  /** [rows, ctx] */
  readonly rows: number;
  readonly ctx: number;
  readonly vocab: number;
}

export function lmShape(m: LoweredModel): LmShape {
  const input = m.inputs.find((i) => i.dtype === 'i32' && i.shape.length === 2);
  const out = m.graph.outputs.find((o) => (m.graph.nodes[o.node] as Node).shape.length === 3);
  if (input === undefined || out === undefined || m.inputs.length !== 1) {
    throw new InheritError([
      `${m.instance.name}: data-driven selection runs the parent on calibration text, so it needs one i32 [batch, ctx] token input and a [batch, ctx, vocab] logits output`,
    ]);
  }
  const [rows, ctx] = input.shape as [number, number];
  return { tokens: input.name, logits: out.name, rows, ctx, vocab: (m.graph.nodes[out.node] as Node).shape[2] as number };
}

/** Name of the i32 [rows, ctx] next-token targets input and of the mean cross-entropy output. */
export const TARGETS = 'calib:targets';
export const LOSS = 'calib:loss';

/** Adds the next-token loss (targets input, mean cross-entropy output) to a rebuilt graph's builder. */
export function addLoss(b: GraphBuilder, lm: LmShape): void {
  const o = b.outputs.find((x) => x.name === lm.logits);
  if (o === undefined) throw new Error(`bug: no output '${lm.logits}' in the rebuilt graph`);
  const targets = b.input(TARGETS, [lm.rows, lm.ctx], 'i32');
  b.output(LOSS, crossEntropy(b, b.nodes[o.node] as Node, targets));
}
