// Shared test machinery: build a graph from named test tensors, run it on the CPU, and check
// gradients against central finite differences in f64.

import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';
import { grad, gradName } from '../../../compiler/autodiff/grad.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { tensor, type Tensor } from '../../../runtime/cpu/tensor.ts';
import type { CaseInput } from './op-cases.ts';

export function feedsOf(inputs: Record<string, CaseInput>): Map<string, Tensor> {
  return new Map(Object.entries(inputs).map(([k, v]) => [k, tensor(v.values, v.shape, v.dtype ?? 'f32')]));
}

export function lookup(nodes: Map<string, Node>): (name: string) => Node {
  return (name) => {
    const n = nodes.get(name);
    if (!n) throw new Error(`test bug: no tensor named ${name}`);
    return n;
  };
}

/** Max over elements of |got − want| / max(1, |want|); NaN if either is NaN. */
export function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let e = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    if (g === w) continue;
    e = Math.max(e, Math.abs(g - w) / Math.max(1, Math.abs(w)));
    if (Number.isNaN(g) || Number.isNaN(w)) return NaN;
  }
  return e;
}

/** Deterministic weights so the FD loss Σ out·W sees every output element differently. */
export function probeWeights(n: number): number[] {
  return Array.from({ length: n }, (_v, i) => Math.sin(1.3 * i + 0.7) + 0.1);
}

export interface FdResult {
  name: string;
  analytic: Float64Array;
  numeric: Float64Array;
  relErr: number;
}

/**
 * Builds loss = Σ f(params, inputs)·W, takes its gradient with `grad`, and compares with central
 * differences (h = 1e-5, f64). relErr = ‖a − n‖₂ / max(‖a‖₂, ‖n‖₂, 1e-3).
 */
export function fdCheck(
  params: Record<string, CaseInput>,
  inputs: Record<string, CaseInput>,
  build: (b: GraphBuilder, x: (name: string) => Node) => Node,
): FdResult[] {
  const b = new GraphBuilder();
  const nodes = new Map<string, Node>();
  for (const [k, v] of Object.entries(params)) nodes.set(k, b.param(k, v.shape, v.dtype ?? 'f32'));
  for (const [k, v] of Object.entries(inputs)) nodes.set(k, b.input(k, v.shape, v.dtype ?? 'f32'));
  const out = b.cast(build(b, lookup(nodes)), 'f32');
  const w = b.constant(probeWeights(out.shape.reduce((p, d) => p * d, 1)), out.shape);
  b.output('loss', b.sum(b.mul(out, w)));
  const fwd: Graph = b.build();
  const g = grad(fwd, 'loss', Object.keys(params));
  const feeds = new Map([...feedsOf(params), ...feedsOf(inputs)]);
  const got = runGraph(g, feeds, { dtype: 'f64' });
  const lossAt = (f: Map<string, Tensor>): number => runGraph(fwd, f, { dtype: 'f64', outputs: ['loss'] }).get('loss')?.data[0] as number;
  const h = 1e-5;
  return Object.entries(params).map(([name, v]) => {
    const analytic = Float64Array.from(got.get(gradName(name))?.data ?? []);
    const numeric = new Float64Array(v.values.length);
    for (let i = 0; i < v.values.length; i++) {
      const bump = (d: number): number => {
        const vals = [...v.values];
        vals[i] = (vals[i] as number) + d;
        return lossAt(new Map([...feeds, [name, tensor(vals, v.shape, v.dtype ?? 'f32')]]));
      };
      numeric[i] = (bump(h) - bump(-h)) / (2 * h);
    }
    let d2 = 0,
      a2 = 0,
      n2 = 0;
    for (let i = 0; i < numeric.length; i++) {
      d2 += ((analytic[i] as number) - (numeric[i] as number)) ** 2;
      a2 += (analytic[i] as number) ** 2;
      n2 += (numeric[i] as number) ** 2;
    }
    const relErr = analytic.length === numeric.length ? Math.sqrt(d2) / Math.max(Math.sqrt(a2), Math.sqrt(n2), 1e-3) : Infinity;
    return { name, analytic, numeric, relErr };
  });
}
