// The Run button's work, all of it in the page: compile the spec's training step
// (jobs/train/device-lm.ts over the compiler), tokenize the served Brown slice with GPT-2's BPE
// compressed to the model's vocabulary (runtime/tokenizer, as `scion train` does), train on
// navigator.gpu with the loss read back every update, then generate a sample with the trained
// weights on the WebGPU backend (jobs/train/sample-text.ts, `scion train`'s end-of-run sample).

import type { Program } from '../../grammar/ast.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { compressVocab } from '../../runtime/tokenizer/compress.ts';
import type { BpeTokenizer } from '../../runtime/tokenizer/bpe.ts';
import { gpt2FromRanks, parseGpt2Ranks } from '../../runtime/tokenizer/gpt2.ts';
import { openWebGpuBackend } from '../../backends/webgpu/webgpu-backend.ts';
import { planDeviceLm, trainDeviceLm, type DeviceLmProgress } from '../../jobs/train/device-lm.ts';
import { END_SAMPLE, generateText, textModel } from '../../jobs/train/sample-text.ts';
import { encodeStream } from '../../jobs/train/token-stream.ts';
import { BROWN_PATH, GPT2_RANKS_PATH, type BrownSlice } from '../assets-paths.ts';

export interface RunCallbacks {
  phase(text: string): void;
  step(p: DeviceLmProgress): void;
  text(piece: string): void;
}

let data: Promise<{ docs: string[]; gpt2: BpeTokenizer }> | undefined;
const tokenizers = new Map<number, BpeTokenizer>();

async function fetchText(path: string): Promise<string> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`GET ${path} answered ${r.status} ${r.statusText}`);
  return r.text();
}

/** The served Brown slice and GPT-2's tokenizer, fetched and built once per page. */
function loadData(): Promise<{ docs: string[]; gpt2: BpeTokenizer }> {
  data ??= (async () => {
    const [brown, ranks] = await Promise.all([fetchText(BROWN_PATH), fetchText(GPT2_RANKS_PATH)]);
    return { docs: (JSON.parse(brown) as BrownSlice).docs, gpt2: gpt2FromRanks(parseGpt2Ranks(ranks, GPT2_RANKS_PATH)) };
  })();
  return data;
}

/** Trains `model` of `program` for `steps` updates of `batch` windows, then samples; throws with a message for people. */
export async function runInPage(program: Program, model: string, o: { steps?: number; batch?: number }, ui: RunCallbacks): Promise<void> {
  ui.phase('compiling the training step…');
  const plan = planDeviceLm(program, model, o);
  ui.phase('tokenizing the Brown slice…');
  const { docs, gpt2 } = await loadData();
  let tokenizer = tokenizers.get(plan.vocab);
  if (tokenizer === undefined) {
    tokenizer = compressVocab(gpt2, docs, { size: plan.vocab }).tokenizer;
    tokenizers.set(plan.vocab, tokenizer);
  }
  const stream = encodeStream(tokenizer, docs);
  // One backend for the whole run: the training step resident on it, then the sample's graph.
  const backend = await openWebGpuBackend(plan.lowered.student.graph, { allowSoftware: true, tune: false });
  if ('reason' in backend) throw new Error(`no WebGPU device: ${backend.reason}`);
  try {
    ui.phase(
      `training ${model}: ${plan.config.steps} steps of ${plan.config.batch}×${plan.tokens.ctx} tokens (${stream.length.toLocaleString('en-US')} in the slice) on ${backend.adapter}…`,
    );
    const trained = await trainDeviceLm(plan, stream, backend, (p) => ui.step(p));
    ui.phase('generating a sample…');
    const params = new Map<string, Tensor>();
    for (const p of plan.lowered.student.params) params.set(p.path, { dtype: 'f32', shape: p.shape, data: trained.get(p.path) as Float32Array });
    const tm = textModel(program, model, params);
    ui.text(END_SAMPLE.prompt);
    await generateText(tm, backend, tokenizer, END_SAMPLE, (piece) => ui.text(piece));
  } finally {
    backend.dispose();
  }
  ui.phase(`done: ${plan.config.steps} steps`);
}
