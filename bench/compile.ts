// Compile time at scale: the llama family of specs/tiny-lm.scion at a ~1B-parameter shape
// (dim 2048, heads 32, kv_heads 8, ffn 5632, vocab 32000, ctx 2048), lowered to the graph IR and
// differentiated (cross-entropy loss → gradients of every parameter). No weights are materialized:
// parameters are graph nodes with shapes only. Reports the median of a few runs per depth (4, 8,
// 16, 22) and ms/layer, so a glance shows whether compile time grows linearly with depth.
// No peer: `peer` is null in `scion bench`. Run alone with `npx tsx bench/compile.ts`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gradients } from '../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../compiler/ir/builder.ts';
import { crossEntropy } from '../compiler/ir/compose.ts';
import type { Node } from '../compiler/ir/graph.ts';
import { lowerModel } from '../compiler/lower/lower-model.ts';
import { parseProgram } from '../grammar/dsl/parse.ts';
import type { Program } from '../grammar/ast.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

/** TinyLlama-1.1B-like widths; depth varies per row. */
export const ONE_B_SHAPE = { vocab: 32000, dim: 2048, heads: 32, kv_heads: 8, ffn: 5632, ctx: 2048 } as const;
export const DEPTHS = [4, 8, 16, 22] as const;

export interface CompileTiming {
  depth: number;
  params: number;
  /** Nodes of the forward graph and of forward + backward. */
  forwardNodes: number;
  totalNodes: number;
  lowerMs: number;
  gradMs: number;
  totalMs: number;
}

function loadLlamaSpec(): Program {
  const file = join(import.meta.dirname, '../specs/tiny-lm.scion');
  const { program, diagnostics } = parseProgram(readFileSync(file, 'utf8'), 'specs/tiny-lm.scion');
  if (diagnostics.length > 0) throw new Error(`specs/tiny-lm.scion does not parse: ${diagnostics[0]?.message ?? ''}`);
  return program;
}

/** One compile: lower (forward graph) then autodiff of next-token cross-entropy. */
export function compileOnce(program: Program, depth: number): Omit<CompileTiming, 'depth'> {
  const t0 = performance.now();
  const m = lowerModel(program, 'Llama', { dims: { batch: 1 }, overrides: { ...ONE_B_SHAPE, depth } });
  const t1 = performance.now();
  const { builder: b, nodes } = GraphBuilder.from(m.graph);
  const logits = nodes[m.graph.outputs.find((o) => o.name === 'logits')?.node ?? -1];
  const tokens = nodes[m.inputs[0]?.node ?? -1];
  if (logits === undefined || tokens === undefined) throw new Error('bug: llama graph without logits or tokens');
  const loss = crossEntropy(b, logits, tokens); // labels = tokens: the shape of the work is what matters
  const params = b.nodes.filter((n): n is Node => n.op === 'param' && n.attrs['trainable'] === true);
  gradients(b, loss, params);
  const t2 = performance.now();
  return {
    params: m.params.reduce((p, q) => p + q.shape.reduce((x, y) => x * y, 1), 0),
    forwardNodes: m.graph.nodes.length,
    totalNodes: b.nodes.length,
    lowerMs: t1 - t0,
    gradMs: t2 - t1,
    totalMs: t2 - t0,
  };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Median over `runs` compiles per depth, after one untimed warm-up compile. */
export function timeCompile(depths: readonly number[] = DEPTHS, runs = 3, log: (m: string) => void = () => {}): CompileTiming[] {
  const program = loadLlamaSpec();
  for (let i = 0; i < 2; i++) compileOnce(program, depths[depths.length - 1] ?? 4); // JIT warm-up at the largest shape
  return depths.map((depth) => {
    const samples = Array.from({ length: runs }, () => compileOnce(program, depth));
    const first = samples[0] as Omit<CompileTiming, 'depth'>;
    const row: CompileTiming = {
      depth,
      params: first.params,
      forwardNodes: first.forwardNodes,
      totalNodes: first.totalNodes,
      lowerMs: median(samples.map((s) => s.lowerMs)),
      gradMs: median(samples.map((s) => s.gradMs)),
      totalMs: median(samples.map((s) => s.totalMs)),
    };
    log(`depth ${depth}: ${(row.params / 1e9).toFixed(2)}B params, ${row.totalNodes} nodes, ${row.totalMs.toFixed(0)} ms`);
    return row;
  });
}

/** Least-squares slope and intercept of ms against depth: the per-layer cost and the fixed cost. */
export function linearFit(rows: readonly CompileTiming[]): { msPerLayer: number; fixedMs: number; r2: number } {
  const xs = rows.map((r) => r.depth);
  const ys = rows.map((r) => r.totalMs);
  const mx = xs.reduce((p, x) => p + x, 0) / xs.length;
  const my = ys.reduce((p, y) => p + y, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    const dy = (ys[i] as number) - my;
    sxy += (x - mx) * dy;
    sxx += (x - mx) ** 2;
    syy += dy * dy;
  });
  const slope = sxy / sxx;
  return { msPerLayer: slope, fixedMs: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

export const benchmarks: Benchmark[] = [
  {
    name: 'compile',
    description: 'lower + autodiff of the llama spec at a ~1B shape, depth 4/8/16/22: median ms and ms/layer (no peer)',
    needsGpu: false,
    async run(ctx): Promise<BenchResult[]> {
      const rows = timeCompile(DEPTHS, 7, (m) => ctx.log(m));
      const fit = linearFit(rows);
      ctx.log(`linear fit: ${fit.msPerLayer.toFixed(1)} ms/layer + ${fit.fixedMs.toFixed(0)} ms fixed (r² ${fit.r2.toFixed(4)})`);
      return [
        ...rows.map((r) => result(`compile-llama-${(r.params / 1e9).toFixed(2)}B-depth${r.depth}`, 'ms', r.totalMs, null, 'no peer', false)),
        ...rows.map((r) => result(`compile-ms-per-layer-depth${r.depth}`, 'ms', r.totalMs / r.depth, null, 'no peer', false)),
        result('compile-fit-ms-per-layer', 'ms', fit.msPerLayer, null, 'no peer', false),
      ];
    },
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = timeCompile(DEPTHS, 7, (m) => process.stderr.write(`${m}\n`));
  console.log('depth  params    fwd nodes  total nodes  lower ms  grad ms  total ms  ms/layer');
  for (const r of rows) {
    console.log(
      `${String(r.depth).padStart(5)}  ${(r.params / 1e9).toFixed(2).padStart(5)}B  ${String(r.forwardNodes).padStart(9)}  ${String(r.totalNodes).padStart(11)}  ` +
        `${r.lowerMs.toFixed(1).padStart(8)}  ${r.gradMs.toFixed(1).padStart(7)}  ${r.totalMs.toFixed(1).padStart(8)}  ${(r.totalMs / r.depth).toFixed(2).padStart(8)}`,
    );
  }
  const fit = linearFit(rows);
  console.log(`fit: ${fit.msPerLayer.toFixed(2)} ms/layer + ${fit.fixedMs.toFixed(1)} ms fixed, r² = ${fit.r2.toFixed(4)}`);
}
