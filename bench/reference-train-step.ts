// CPU reference training throughput: what the main job and the MNIST diffusion jobs cost per step
// on a machine without a GPU adapter. Three workloads, f32, seeded random weights:
//   llama-step  forward + backward of TinyLlama (specs/default.scion, ctx 64) with cross-entropy, 16 × 64
//   dit-step    forward + backward of the DiT of specs/lit.scion with an mse loss, batch 16
//   unet-fwd    forward of SmallUNet (specs/a-sdm.scion), batch 4
// No peer. Run alone with `npx tsx bench/reference-train-step.ts [--profile] [llama|dit|unet]`;
// --profile adds the time per op kind (runGraph's `profile` option).
//
// Where the time went before the reference interpreter was optimized (2-core shared machine, --profile):
//   llama-step  matmul 58% (naive i-k-j, ~0.2 GFLOP/s), broadcasting mul/sub/add/div 28% (one
//               Int32Array index per element and an un-inlined call per element), reduce_sum 5%
//               (per-element target index), permute 4%.
//   dit-step    matmul 62%, elementwise 26%, reduce_sum 4%, permute 3% (74 s per step).
//   unet-fwd    conv2d 88% (direct loops).
// After (gemm.ts, kernels-contract.ts, rows.ts, plan.ts, buffer-pool.ts): matmul/conv are 55–80%
// of a several-times-shorter step at ~1.5–2.5 GFLOP/s, near plain JS's scalar limit; the rest is
// memory-bound elementwise work. Before/after in one process (old kernels copied aside), medians:
//   llama-step 5433 → 1672 ms (3.2×), unet-fwd 6588 → 978 ms (6.7×), dit-step 59.7 → 7.9 s (7.6×).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { grad } from '../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../compiler/ir/builder.ts';
import { crossEntropy, mse } from '../compiler/ir/compose.ts';
import type { Graph, Node } from '../compiler/ir/graph.ts';
import { lowerModel, type LoweredModel } from '../compiler/lower/lower-model.ts';
import { parseProgram } from '../grammar/dsl/parse.ts';
import { runGraph } from '../runtime/cpu/run-graph.ts';
import type { Tensor } from '../runtime/cpu/tensor.ts';
import { DEFAULT_TIMING, medianMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';
import { fill } from './fill.ts';

export interface Workload {
  name: string;
  graph: Graph;
  feeds: Map<string, Tensor>;
  /** Forward FLOPs of the model (lowerModel's count), for a rough GFLOP/s figure. */
  forwardFlops: number;
}

function lower(spec: string, model: string, batch: number, overrides: Record<string, number> = {}): LoweredModel {
  const file = join(import.meta.dirname, '../specs', spec);
  const { program, diagnostics } = parseProgram(readFileSync(file, 'utf8'), `specs/${spec}`);
  if (diagnostics.length > 0) throw new Error(`specs/${spec} does not parse: ${diagnostics[0]?.message ?? ''}`);
  return lowerModel(program, model, { dims: { batch }, overrides });
}

/** Feeds for every input and param of `graph`: floats small and random, i32 in [0, classes). */
function feedsFor(graph: Graph, classes: number): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  let seed = 1;
  for (const n of graph.nodes) {
    if (n.op !== 'input' && n.op !== 'param') continue;
    const name = n.attrs['name'] as string;
    const count = n.shape.reduce((x, y) => x * y, 1);
    const data = fill(count, seed++, n.op === 'param' ? 0.1 : 1);
    if (n.dtype === 'i32') feeds.set(name, { dtype: 'i32', shape: n.shape, data: Int32Array.from(data, (v) => Math.floor((v + 1) * 0.5 * classes) % classes) });
    else feeds.set(name, { dtype: n.dtype, shape: n.shape, data });
  }
  return feeds;
}

/** The model's graph plus a scalar `loss` built by `loss(b, node)`, differentiated w.r.t. every param. */
function withLoss(m: LoweredModel, loss: (b: GraphBuilder, node: (name: string) => Node) => Node): Graph {
  const { builder: b, nodes } = GraphBuilder.from(m.graph);
  const node = (name: string): Node => {
    const out = m.graph.outputs.find((o) => o.name === name);
    if (!out) throw new Error(`bench: model has no output '${name}'`);
    return nodes[out.node] as Node;
  };
  b.output('loss', loss(b, node));
  return grad(b.build(), 'loss');
}

/** ctx is pinned (not the spec's current default) so figures stay comparable across spec edits. */
export function llamaStep(batch = 16, ctx = 64): Workload {
  const m = lower('default.scion', 'TinyLlama', batch, { ctx });
  const graph = withLoss(m, (b, node) => crossEntropy(b, node('logits'), b.input('labels', [batch, ctx], 'i32')));
  return { name: `llama-step-b${batch}x${ctx}`, graph, feeds: feedsFor(graph, Number(m.instance.params['vocab'])), forwardFlops: m.flops };
}

export function ditStep(batch = 16): Workload {
  const m = lower('lit.scion', 'DiT', batch);
  const graph = withLoss(m, (b, node) => {
    const eps = node('eps');
    return mse(b, eps, b.input('noise', eps.shape, 'f32'));
  });
  return { name: `dit-step-b${batch}`, graph, feeds: feedsFor(graph, 10), forwardFlops: m.flops };
}

export function unetForward(batch = 4): Workload {
  const m = lower('a-sdm.scion', 'SmallUNet', batch);
  return { name: `unet-fwd-b${batch}`, graph: m.graph, feeds: feedsFor(m.graph, 10), forwardFlops: m.flops };
}

export const WORKLOADS: readonly (() => Workload)[] = [() => llamaStep(), () => ditStep(), () => unetForward()];

export async function timeWorkload(w: Workload, budgetMs = 3000): Promise<number> {
  return medianMsPerRun(
    async (runs) => {
      for (let r = 0; r < runs; r++) runGraph(w.graph, w.feeds, { dtype: 'f32' });
    },
    { ...DEFAULT_TIMING, minBatchMs: 0, budgetMs },
  );
}

/** Milliseconds per op kind over `runs` runs, largest first. */
export function profileWorkload(w: Workload, runs = 3): [string, number][] {
  const profile = new Map<string, number>();
  runGraph(w.graph, w.feeds, { dtype: 'f32' }); // warm-up: JIT
  for (let r = 0; r < runs; r++) runGraph(w.graph, w.feeds, { dtype: 'f32', profile });
  return [...profile].map(([op, ms]): [string, number] => [op, ms / runs]).sort((a, b) => b[1] - a[1]);
}

export const benchmarks: Benchmark[] = [
  {
    name: 'reference-train-step',
    description: 'CPU reference: llama train step (16×64), DiT train step (b16), SmallUNet forward (b4), ms per step (no peer)',
    needsGpu: false,
    async run(ctx): Promise<BenchResult[]> {
      const rows: BenchResult[] = [];
      for (const make of WORKLOADS) {
        const w = make();
        const ms = await timeWorkload(w);
        ctx.log(`${w.name}: ${ms.toFixed(1)} ms (${w.graph.nodes.length} nodes)`);
        rows.push(result(`cpu-${w.name}`, 'ms', ms, null, 'no peer', false));
      }
      return rows;
    },
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const profile = process.argv.includes('--profile');
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  for (const make of WORKLOADS) {
    const w = make();
    if (only.length > 0 && !only.some((o) => w.name.startsWith(o))) continue;
    const ms = await timeWorkload(w);
    // A training step is ~3× the forward FLOPs (forward + two matmuls per weight matmul backward).
    const flops = w.name.includes('step') ? 3 * w.forwardFlops : w.forwardFlops;
    console.log(`${w.name.padEnd(22)} ${ms.toFixed(1).padStart(8)} ms  ~${(flops / ms / 1e6).toFixed(2)} GFLOP/s  (${w.graph.nodes.length} nodes)`);
    if (profile) {
      const rows = profileWorkload(w);
      const total = rows.reduce((s, r) => s + r[1], 0);
      for (const [op, t] of rows.slice(0, 14))
        console.log(`    ${op.padEnd(24)} ${t.toFixed(1).padStart(8)} ms  ${((100 * t) / total).toFixed(1).padStart(5)}%`);
    }
  }
}
