// `scion generate [FILE] [--model NAME] [--weights W] [--prompt TEXT] [--tokens N]
// [--temperature T] [--top-k K] [--seed S] [--device D] [--json]`: text from a
// trained language model. Defaults follow `scion train`: the default spec, its trained model, and
// runs/<model>/model.safetensors with tokenizer.json beside it.

import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { selectBackend } from '../../backends/registry.ts';
import type { Backend } from '../../backends/backend.ts';
import { generateText, textModel, type SampleOptions } from '../../jobs/train/sample-text.ts';
import { readTokenizerJson } from '../../runtime/tokenizer/index.ts';
import { openSafetensors } from '../../runtime/weights/index.ts';
import { DEFAULT_SPEC, defaultOutDir, trainedModel } from '../../jobs/train/defaults.ts';
import { command, commandSpec, usageError } from '../flags.ts';
import { EXIT } from '../io.ts';
import { loadSpec } from '../spec.ts';
import { loadWeights } from '../../jobs/weights/load-weights.ts';

export const SPEC = commandSpec({
  name: 'generate',
  about:
    "Writes text from a trained language model (default: the default job's runs/<model>/model.safetensors,\nwith tokenizer.json beside the weights). Temperature 0 is greedy; --top-k 0 samples from the whole vocabulary.",
  args: { name: 'FILE', min: 0, max: 1 },
  flags: ['model', 'weights', 'prompt', 'tokens', 'temperature', 'topK', 'seed', 'device', 'json'],
});

export const run = command(SPEC, async ({ flags, args: [file] }, io) => {
  const { model, weights, device = 'auto', json } = flags;
  const o: SampleOptions = {
    prompt: flags.prompt ?? '',
    tokens: flags.tokens ?? 64,
    temperature: flags.temperature ?? 0.8,
    topK: flags.topK ?? 40,
    seed: flags.seed ?? 0,
  };
  const program = loadSpec(file ?? DEFAULT_SPEC, io, 'generate');
  if (program === undefined) return EXIT.inputError;
  const name = trainedModel(program, model);
  if (name === undefined) throw usageError(SPEC, 'the spec trains no model: give --model NAME');
  const weightsPath = weights === undefined ? join(defaultOutDir(io.cwd, name), 'model.safetensors') : isAbsolute(weights) ? weights : resolve(io.cwd, weights);
  const tokenizerPath = join(dirname(weightsPath), 'tokenizer.json');
  for (const [what, p] of [
    ['weights', weightsPath],
    ['tokenizer', tokenizerPath],
  ] as const) {
    if (!existsSync(p)) {
      io.err(`scion generate: no ${what} at ${p}${weights === undefined ? ' (train first: scion train)' : ''}\n`);
      return EXIT.inputError;
    }
  }
  let backend: Backend | undefined;
  const reader = await openSafetensors(weightsPath);
  try {
    const lowered = lowerModel(program, name, { dims: { batch: 1 } });
    const params = new Map<string, Tensor>();
    for (const [p, t] of await loadWeights(lowered, reader)) params.set(p, { dtype: 'f32', shape: t.shape, data: t.data });
    const tm = textModel(program, name, params);
    backend = await selectBackend(device, tm.graph, (line) => io.err(`${line}\n`));
    const tokenizer = await readTokenizerJson(tokenizerPath);
    if (json) {
      const r = await generateText(tm, backend, tokenizer, o);
      io.out(`${JSON.stringify({ prompt: o.prompt, text: r.text, ids: r.ids })}\n`);
      return EXIT.ok;
    }
    // Plain text streams: the prompt, then each token's text as it is drawn, then a newline.
    io.out(o.prompt);
    await generateText(tm, backend, tokenizer, o, (text) => io.out(text));
    io.out('\n');
    return EXIT.ok;
  } finally {
    backend?.dispose();
    await reader.close();
  }
});
