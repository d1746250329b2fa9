// `scion explain` against depth: a generated model with a `repeat` of 4k, 8k and 16k layers,
// explained (lowered, reported and formatted) in process; prints ms per run and ms per 1,000
// layers. Linear means ms per 1,000 layers stays flat as depth doubles (issue 19: it was
// quadratic, 16k layers 7.8 s and 32k 31 s). No peer: `peer` is null in `scion bench`.
// Run alone with `npx tsx bench/explain-depth.ts [DEPTH...]`.

import { pathToFileURL } from 'node:url';
import { explainModel, formatReport } from '../compiler/explain.ts';
import { parseProgram } from '../grammar/dsl/parse.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

export const DEPTHS = [4_000, 8_000, 16_000] as const;

/** A model of `depth` Linear + RMSNorm blocks, each with its own parameter path. */
export function deepSpec(depth: number): string {
  return [
    `model Deep(dim = 16, depth = ${depth}) {`,
    '  input x: f32[batch, dim]',
    '  h = x',
    '  repeat i in 0..depth {',
    '    h = h + Linear(RMSNorm(h) as layers[i].norm, dim) as layers[i].proj',
    '  }',
    '  output y = h',
    '}',
    '',
  ].join('\n');
}

/** Milliseconds to explain and format the `depth`-layer model once (after parsing). */
export function timeExplain(depth: number): { ms: number; lines: number } {
  const { program, diagnostics } = parseProgram(deepSpec(depth), 'deep.scion');
  if (diagnostics.length > 0) throw new Error(`generated spec does not parse: ${diagnostics[0]!.message}`);
  const t0 = performance.now();
  const text = formatReport(explainModel(program, 'Deep'));
  return { ms: performance.now() - t0, lines: text.split('\n').length };
}

export const benchmarks: Benchmark[] = [
  {
    name: 'explain-depth',
    description: 'scion explain of a repeat of 4k, 8k and 16k layers: ms per run (linear: ms per 1,000 layers flat; no peer)',
    needsGpu: false,
    async run(ctx): Promise<BenchResult[]> {
      timeExplain(1_000); // warm-up
      return DEPTHS.map((d) => {
        const { ms } = timeExplain(d);
        ctx.log(`explain-depth ${d}: ${ms.toFixed(0)} ms (${((1000 * ms) / d).toFixed(1)} ms per 1,000 layers)`);
        return result(`explain-depth-${d / 1000}k`, 'ms', ms, null, 'no peer', false);
      });
    },
  },
];

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const depths = process.argv.slice(2).map(Number);
  timeExplain(1_000);
  for (const d of depths.length > 0 ? depths : DEPTHS) {
    const { ms, lines } = timeExplain(d);
    console.log(
      `depth ${String(d).padStart(6)}  ${ms.toFixed(0).padStart(7)} ms  ${((1000 * ms) / d).toFixed(1).padStart(6)} ms per 1,000 layers  (${lines} lines)`,
    );
  }
}
