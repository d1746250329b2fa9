// CPU reference throughput: forward tokens/s of the tiny llama of specs/default.scion (TinyLlama:
// vocab 512, dim 64, depth 2, ctx 64) on the CPU interpreter in f32, with small seeded random
// weights, at batch 1 and 8. It measures the interpreter (the executable specification), not an
// optimized CPU path. No peer. Run alone with `npx tsx bench/reference-forward.ts`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lowerModel, type LoweredModel } from '../compiler/lower/lower-model.ts';
import { parseProgram } from '../grammar/dsl/parse.ts';
import { runGraph } from '../runtime/cpu/run-graph.ts';
import type { Tensor } from '../runtime/cpu/tensor.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';
import { DEFAULT_TIMING, medianMsPerRun } from './timing.ts';
import { fill } from './fill.ts';

export const BATCHES = [1, 8] as const;

export function tinyLlama(batch: number): LoweredModel {
  const file = join(import.meta.dirname, '../specs/default.scion');
  const { program, diagnostics } = parseProgram(readFileSync(file, 'utf8'), 'specs/default.scion');
  if (diagnostics.length > 0) throw new Error(`specs/default.scion does not parse: ${diagnostics[0]?.message ?? ''}`);
  return lowerModel(program, 'TinyLlama', { dims: { batch } });
}

/** Feeds: random weights (norm gains 1) and random tokens. */
export function forwardFeeds(m: LoweredModel, seed = 1): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  m.params.forEach((p, i) => {
    const n = p.shape.reduce((x, y) => x * y, 1);
    const data = p.path.endsWith('layernorm.weight') || p.path === 'norm.weight' ? new Float32Array(n).fill(1) : fill(n, seed + i, 0.1);
    feeds.set(p.path, { dtype: 'f32', shape: p.shape, data });
  });
  for (const input of m.inputs) {
    const n = input.shape.reduce((x, y) => x * y, 1);
    const vocab = Number(m.instance.params['vocab'] ?? 2);
    feeds.set(input.name, { dtype: 'i32', shape: input.shape, data: Int32Array.from(fill(n, seed + 99, 0.5), (v) => Math.floor((v + 0.5) * vocab) % vocab) });
  }
  return feeds;
}

export async function timeForward(batch: number): Promise<{ batch: number; tokens: number; ms: number; tokensPerS: number }> {
  const m = tinyLlama(batch);
  const feeds = forwardFeeds(m);
  const tokens = m.inputs[0]?.shape.reduce((x, y) => x * y, 1) ?? 0;
  const ms = await medianMsPerRun(
    async (runs) => {
      for (let r = 0; r < runs; r++) runGraph(m.graph, feeds, { dtype: 'f32' });
    },
    { ...DEFAULT_TIMING, budgetMs: 3000 },
  );
  return { batch, tokens, ms, tokensPerS: (tokens / ms) * 1000 };
}

export const benchmarks: Benchmark[] = [
  {
    name: 'reference-forward',
    description: 'CPU reference forward of the tiny llama (specs/default.scion): tokens/s at batch 1 and 8 (no peer)',
    needsGpu: false,
    async run(ctx): Promise<BenchResult[]> {
      const rows: BenchResult[] = [];
      for (const batch of BATCHES) {
        const t = await timeForward(batch);
        ctx.log(`batch ${batch}: ${t.tokens} tokens in ${t.ms.toFixed(1)} ms`);
        rows.push(result(`reference-forward-tinyllama-b${batch}`, 'tokens/s', t.tokensPerS, null, 'no peer', true));
      }
      return rows;
    },
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const batch of BATCHES) {
    const t = await timeForward(batch);
    console.log(`batch ${String(batch).padStart(2)}: ${t.tokens} tokens/forward, ${t.ms.toFixed(1)} ms, ${t.tokensPerS.toFixed(0)} tokens/s`);
  }
}
