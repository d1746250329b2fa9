// How English a trained language model's samples are over several sample seeds, not one lucky
// draw: the share of each sample's words that are words of the training text
// (jobs/train/word-share.ts, the figure `scion train` prints under its one END_SAMPLE), for seeds
// 0..N-1 of the same settings, with their mean and lowest. Measures a finished run; trains nothing.
//
//   npx tsx bench/sample-words.ts [RUN_DIR] [--spec FILE] [--seeds 5] [--prompt TEXT]
//     [--temperature T] [--top-k K] [--tokens N] [--device D] [--show]
//
// Defaults: runs/TinyLlama of specs/default.scion and END_SAMPLE's settings.

import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Program } from '../grammar/ast.ts';
import { checkSource } from '../grammar/check/check-source.ts';
import { findTrain, trainConfig } from '../compiler/lower/lower-train-config.ts';
import { lowerModel } from '../compiler/lower/lower-model.ts';
import { isDeviceChoice, selectBackend, type DeviceChoice } from '../backends/registry.ts';
import { DEFAULT_SPEC, defaultOutDir, trainedModel } from '../jobs/train/defaults.ts';
import { sourceTexts } from '../jobs/train/lm-data.ts';
import { END_SAMPLE, generateText, textModel, type SampleOptions } from '../jobs/train/sample-text.ts';
import { wordSetOf, wordShare, type WordShare } from '../jobs/train/word-share.ts';
import { loadWeightFeeds } from '../jobs/weights/load-weights.ts';
import { readTokenizerJson } from '../runtime/tokenizer/index.ts';

export interface SeededShare extends WordShare {
  seed: number;
  text: string;
}

/**
 * One sample per seed from the run in `runDir` (model.safetensors and tokenizer.json) with
 * `settings` (END_SAMPLE's seed replaced), each with its share of the training text's words — the
 * words of the spec's own `train` data, read by the job's corpus module (relative paths from `cwd`).
 */
export async function sampleWordShares(
  program: Program,
  model: string,
  runDir: string,
  seeds: readonly number[],
  settings: Omit<SampleOptions, 'seed'>,
  device: DeviceChoice,
  cwd = process.cwd(),
): Promise<SeededShare[]> {
  const decl = findTrain(program, model);
  if (decl === undefined) throw new Error(`the spec has no \`train ${model}\``);
  const data = trainConfig(decl, program).data;
  const words = wordSetOf(await sourceTexts({ source: data.source, args: data.args, where: `${data.span.file}:${data.span.start.line}` }, cwd));
  const params = await loadWeightFeeds(lowerModel(program, model, { dims: { batch: 1 } }), join(runDir, 'model.safetensors'));
  const tm = textModel(program, model, params);
  const tokenizer = await readTokenizerJson(join(runDir, 'tokenizer.json'));
  const backend = await selectBackend(device, tm.graph, () => undefined);
  try {
    const out: SeededShare[] = [];
    for (const seed of seeds) {
      const { text } = await generateText(tm, backend, tokenizer, { ...settings, seed });
      out.push({ seed, text, ...wordShare(settings.prompt, text, words) });
    }
    return out;
  } finally {
    backend.dispose();
  }
}

/** Mean and lowest share over the seeds (seeds without words left out). */
export function shareSpread(shares: readonly WordShare[]): { mean: number; min: number } {
  const s = shares.flatMap((x) => (x.share === null ? [] : [x.share]));
  if (s.length === 0) throw new Error('shareSpread: no sample has a word');
  return { mean: s.reduce((a, x) => a + x, 0) / s.length, min: Math.min(...s) };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      spec: { type: 'string' },
      seeds: { type: 'string', default: '5' },
      prompt: { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      tokens: { type: 'string' },
      device: { type: 'string', default: 'auto' },
      show: { type: 'boolean', default: false },
    },
  });
  const specPath = values.spec === undefined ? DEFAULT_SPEC : resolve(values.spec);
  const r = checkSource(readFileSync(specPath, 'utf8'), relative(process.cwd(), specPath), (p) => readFileSync(resolve(p), 'utf8'));
  const error = r.diagnostics.find((d) => d.severity === 'error');
  if (error !== undefined) throw new Error(`${specPath}:${error.span.start.line}: ${error.message}`);
  const program: Program = { file: specPath, imports: [], decls: r.decls };
  const model = trainedModel(program, undefined);
  if (model === undefined) throw new Error(`${specPath} trains no model`);
  const device = values.device as string;
  if (!isDeviceChoice(device)) throw new Error(`--device ${device}: not a device (auto or a backend name)`);
  const count = Number(values.seeds);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--seeds ${values.seeds}: write how many seeds, e.g. 5`);
  const num = (v: string | undefined, fallback: number): number => (v === undefined ? fallback : Number(v));
  const settings = {
    prompt: values.prompt ?? END_SAMPLE.prompt,
    tokens: num(values.tokens, END_SAMPLE.tokens),
    temperature: num(values.temperature, END_SAMPLE.temperature),
    topK: num(values['top-k'], END_SAMPLE.topK),
  };
  const runDir = resolve(positionals[0] ?? defaultOutDir(process.cwd(), model));
  const shares = await sampleWordShares(
    program,
    model,
    runDir,
    Array.from({ length: count }, (_, i) => i),
    settings,
    device,
  );
  console.log(
    `${relative(process.cwd(), runDir) || '.'}: prompt ${JSON.stringify(settings.prompt)}, ${settings.tokens} tokens, temperature ${settings.temperature}, top-k ${settings.topK}`,
  );
  for (const s of shares) {
    console.log(`  seed ${s.seed}: ${s.known} of ${s.total} words (${s.share === null ? '–' : (100 * s.share).toFixed(0)}%)`);
    if (values.show) console.log(`    ${settings.prompt}${s.text.replace(/\s+/g, ' ')}`);
  }
  const { mean, min } = shareSpread(shares);
  console.log(`  mean ${(100 * mean).toFixed(1)}%, lowest ${(100 * min).toFixed(1)}% over ${count} seeds`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
