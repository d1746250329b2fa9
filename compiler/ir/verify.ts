// The IR verifier: re-derives every node's dtype and shape, checks operands are defined before
// use and outputs exist. Runs after every pass in tests. A failure is a compiler bug, so it
// throws, with a window of IR text around the offending node.

import type { Graph, Node } from './graph.ts';
import { OP_INFO } from './ops.ts';
import { sameShape } from './shape-rules.ts';
import { printNode } from './text.ts';

export class IrVerifyError extends Error {
  override name = 'IrVerifyError';
}

const WINDOW = 3;

function windowAround(g: Graph, at: number, why: string): string {
  const lo = Math.max(0, at - WINDOW);
  const hi = Math.min(g.nodes.length - 1, at + WINDOW);
  const lines: string[] = [];
  if (lo > 0) lines.push('    ...');
  for (let i = lo; i <= hi; i++) {
    const n = g.nodes[i] as Node;
    lines.push(`${i === at ? '>>> ' : '    '}${printNode(n)}`);
  }
  if (hi < g.nodes.length - 1) lines.push('    ...');
  return `IR verification failed at %${at}: ${why}\n${lines.join('\n')}`;
}

/** Throws IrVerifyError on the first problem found. */
export function verifyGraph(g: Graph): void {
  const params = new Set<string>();
  const inputs = new Set<string>();
  g.nodes.forEach((n, i) => {
    const bad = (why: string): never => {
      throw new IrVerifyError(windowAround(g, i, why));
    };
    if (n.id !== i) bad(`node id %${n.id} at index ${i} (ids must be dense)`);
    const info = OP_INFO[n.op];
    if (!info) bad(`unknown op '${String(n.op)}'`);
    if (info.arity === 'variadic' ? n.inputs.length < 1 : n.inputs.length !== info.arity) {
      bad(`${n.op} takes ${info.arity} operands, has ${n.inputs.length}`);
    }
    for (const j of n.inputs) if (!(Number.isInteger(j) && j >= 0 && j < i)) bad(`operand %${j} is not defined before use`);
    for (const k of info.attrs) if (!(k in n.attrs)) bad(`missing attr '${k}'`);
    const types = n.inputs.map((j) => g.nodes[j] as Node);
    let dtype;
    let shape;
    try {
      dtype = info.dtype(types, n.attrs);
      shape = info.shape(types, n.attrs);
    } catch (e) {
      return bad((e as Error).message);
    }
    if (dtype !== n.dtype) bad(`dtype is ${n.dtype} but ${n.op} gives ${dtype}`);
    if (!sameShape(shape, n.shape)) bad(`shape is [${n.shape.join(',')}] but ${n.op} gives [${shape.join(',')}]`);
    if (n.op === 'param' || n.op === 'input') {
      const set = n.op === 'param' ? params : inputs;
      const name = String(n.attrs['name']);
      if (set.has(name)) bad(`${n.op} '${name}' declared twice`);
      set.add(name);
    }
  });
  const names = new Set<string>();
  for (const o of g.outputs) {
    if (!(o.node >= 0 && o.node < g.nodes.length)) {
      throw new IrVerifyError(`IR verification failed: output '${o.name}' names missing node %${o.node}`);
    }
    if (names.has(o.name)) throw new IrVerifyError(windowAround(g, o.node, `output '${o.name}' declared twice`));
    names.add(o.name);
  }
  if (g.outputs.length === 0) throw new IrVerifyError('IR verification failed: the graph has no outputs');
}
