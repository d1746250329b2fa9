// The main job on a tiny llama and a small text: `scion train` lowers the loss and writes its
// files; a run interrupted after step 5 and resumed gives bit-identical losses to an uninterrupted
// one (reference backend); `scion generate` writes text the tokenizer decodes; the baseline is the
// unigram entropy computed independently of the job's own function; the end sample's share of
// training-text words is measured against the text's words listed by hand.

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareLmJob } from '../../../jobs/train/lm-job.ts';
import { main } from '../../../cli/main.ts';
import { loadSpec } from '../../../cli/spec.ts';
import { referenceBackend } from '../../../backends/reference/index.ts';
import { unigramEntropy } from '../../../jobs/train/baseline.ts';
import { bitsPerByteOf } from '../../../jobs/train/bits-per-byte.ts';
import { encodeStream, evalBatches } from '../../../jobs/train/lm-data.ts';
import { trainLm } from '../../../jobs/train/train-lm.ts';
import { END_SAMPLE } from '../../../jobs/train/sample-text.ts';
import { wordShare, type WordShare } from '../../../jobs/train/word-share.ts';
import { sampleWordShares } from '../../../bench/sample-words.ts';
import { readTokenizerJson } from '../../../runtime/tokenizer/index.ts';
import { openSafetensors, type TensorToWrite, writeSafetensors } from '../../../runtime/weights/index.ts';
import { captureIo } from '../../cli/capture-io.ts';
import { llamaSpec } from '../../compiler/lower/helpers.ts';
import { trainLosses as losses } from './run-metrics.ts';

const SPEC = `
${llamaSpec('Tiny', 'vocab = 300, dim = 16, depth = 1, heads = 2, kv_heads = 1, ffn = 32, ctx = 8')}

train Tiny {
  data = text(path = "train.txt", seq = 8)
  eval = { data = text(path = "val.txt", seq = 8), every = 10 }
  loss = cross_entropy(logits, next(tokens))
  optimizer = adamw(lr = 1e-2, betas = (0.9, 0.95), clip = 1.0)
  schedule = warmup_cosine(warmup = 3, min_lr = 1e-3)
  steps = 40
  batch = 4
  checkpoint = { every = 2, keep = 2 }
  seed = 5
}
`;

const SENTENCES = ['the cat sat on the mat.', 'a dog ran in the park.', 'the bird sang in the tree.', 'my friend read a book.'];
const text = (n: number, shift: number): string => Array.from({ length: n }, (_, i) => SENTENCES[(i * 3 + shift) % SENTENCES.length]).join(' ');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scion-job-'));
  writeFileSync(join(dir, 'tiny.scion'), SPEC);
  writeFileSync(join(dir, 'train.txt'), text(120, 0));
  writeFileSync(join(dir, 'val.txt'), text(40, 1));
});

describe('scion train (tiny llama on a small text)', () => {
  let summary: { steps: number; trainLoss: number; valLoss: number; baselineLoss: number; tokensPerSecond: number; device: string };
  let run: { prompt: string; sample: string };

  beforeAll(async () => {
    const io = captureIo(dir);
    const code = await main(['train', 'tiny.scion', '--out', 'run', '--device', 'reference', '--json'], io);
    if (code !== 0) throw new Error(io.stderr);
    const out = JSON.parse(io.stdout) as { summary: typeof summary; prompt: string; sample: string };
    summary = out.summary;
    run = { prompt: out.prompt, sample: out.sample };
  }, 120_000);

  it('lowers the loss and beats the unigram baseline on the validation text', () => {
    const l = losses(join(dir, 'run'));
    expect(l).toHaveLength(40);
    const head = l.slice(0, 5).reduce((a, x) => a + x, 0) / 5;
    const tail = l.slice(-5).reduce((a, x) => a + x, 0) / 5;
    expect(tail).toBeLessThan(head - 1);
    expect(summary.valLoss).toBeLessThan(summary.baselineLoss);
    expect(summary.device).toBe('reference');
    expect(summary.tokensPerSecond).toBeGreaterThan(0);
  });

  it("writes summary.json with the issue's fields and the model files", () => {
    const s = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as Record<string, unknown>;
    for (const k of ['steps', 'trainLoss', 'valLoss', 'baselineLoss', 'tokensPerSecond', 'device']) expect(s).toHaveProperty(k);
    const cfg = JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ model_type: 'llama', vocab_size: 300, hidden_size: 16, num_hidden_layers: 1 });
    expect(readFileSync(join(dir, 'run', 'loss.svg'), 'utf8')).toContain('<svg');
    expect(
      readFileSync(join(dir, 'run', 'loss.png'))
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
  });

  it('computes the baseline as the unigram entropy of the validation tokens', async () => {
    const tokenizer = await readTokenizerJson(join(dir, 'run', 'tokenizer.json'));
    const ids = [...encodeStream(tokenizer, [text(40, 1)])];
    // Independently: H = ln N − (1/N)·Σ c·ln c over the run lengths of the sorted ids.
    ids.sort((a, b) => a - b);
    let sum = 0;
    for (let i = 0; i < ids.length; ) {
      let j = i;
      while (j < ids.length && ids[j] === ids[i]) j++;
      sum += (j - i) * Math.log(j - i);
      i = j;
    }
    const expected = Math.log(ids.length) - sum / ids.length;
    expect(summary.baselineLoss).toBeCloseTo(expected, 12);
    expect(unigramEntropy([0, 0, 1, 2])).toBeCloseTo(1.5 * Math.log(2), 12);
  });

  it("records the end sample's share of training-text words in summary.json, against the text's words listed by hand", () => {
    const s = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as { sampleWordShare: WordShare };
    // Every word of SENTENCES, written out: the job must measure against the training text's words.
    const words = new Set(['the', 'cat', 'sat', 'on', 'mat', 'a', 'dog', 'ran', 'in', 'park', 'bird', 'sang', 'tree', 'my', 'friend', 'read', 'book']);
    expect(s.sampleWordShare).toEqual(wordShare(run.prompt, run.sample, words));
    expect(summary).toMatchObject({ sampleWordShare: s.sampleWordShare });
    expect(s.sampleWordShare.total).toBeGreaterThan(0);
  });

  it("bench/sample-words.ts repeats the job's end sample and share at seed 0 and draws other samples at other seeds", async () => {
    const program = loadSpec('tiny.scion', captureIo(dir), 'test')!;
    const { seed: _, ...settings } = END_SAMPLE;
    const shares = await sampleWordShares(program, 'Tiny', join(dir, 'run'), [0, 1], settings, 'reference', dir);
    const s = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as { sampleWordShare: WordShare };
    expect(shares[0]).toEqual({ seed: 0, text: run.sample, ...s.sampleWordShare });
    expect(shares[1]?.seed).toBe(1);
    expect(shares[1]?.text).not.toBe(run.sample);
  }, 60_000);

  it('prints the sample after its prompt and the share under it, as summary.json records it', async () => {
    const io = captureIo(dir);
    const code = await main(['train', 'tiny.scion', '--out', 'run-text', '--device', 'reference', '--steps', '4'], io);
    expect(code, io.stderr).toBe(0);
    const s = JSON.parse(readFileSync(join(dir, 'run-text', 'summary.json'), 'utf8')) as { sampleWordShare: WordShare };
    const lines = io.stdout.split('\n');
    const at = lines.indexOf('sample:');
    expect(lines[at + 1]?.startsWith(`  ${END_SAMPLE.prompt}`)).toBe(true);
    const { known, total } = s.sampleWordShare;
    const percent = `${Math.round((100 * known) / total)}%`;
    expect(lines[at + 2]).toBe(`  (${known} of ${total} words (${percent}) are words of the training text)`);
  }, 60_000);

  it("generates text that the run's tokenizer decodes", async () => {
    const io = captureIo(dir);
    const code = await main(
      ['generate', 'tiny.scion', '--weights', 'run/model.safetensors', '--prompt', 'the cat', '--tokens', '12', '--seed', '3', '--json'],
      io,
    );
    expect(code, io.stderr).toBe(0);
    const r = JSON.parse(io.stdout) as { text: string; ids: number[] };
    const tokenizer = await readTokenizerJson(join(dir, 'run', 'tokenizer.json'));
    expect(r.ids).toHaveLength(12);
    for (const id of r.ids) expect(tokenizer.idToToken[id]).toBeDefined();
    expect(tokenizer.decode(r.ids)).toBe(r.text);
    expect(r.text.length).toBeGreaterThan(0);
  }, 60_000);
});

describe('bits per byte', () => {
  it('a uniform model over V ids scores targets·log2(V)/bytes of the text its targets spell', async () => {
    // The trained weights with lm_head zeroed: every logit 0, so every next-token NLL is ln 300.
    const reader = await openSafetensors(join(dir, 'run', 'model.safetensors'));
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, t] of reader.tensors) {
      const data = await reader.read(name);
      tensors[name] = { dtype: 'F32', shape: t.shape, data: name === 'lm_head.weight' ? new Float32Array(data.length) : (data as Float32Array) };
    }
    await reader.close();
    mkdirSync(join(dir, 'uniform'), { recursive: true });
    await writeSafetensors(join(dir, 'uniform', 'model.safetensors'), tensors);
    copyFileSync(join(dir, 'run', 'tokenizer.json'), join(dir, 'uniform', 'tokenizer.json'));

    const io = captureIo(dir);
    expect(await main(['eval', 'tiny.scion', '--weights', 'uniform/model.safetensors', '--data', 'val', '--batches', '32', '--json'], io), io.stderr).toBe(0);
    const r = JSON.parse(io.stdout) as { loss: number; bitsPerByte: number };
    expect(r.loss).toBeCloseTo(Math.log(300), 5);

    // By hand: the targets are positions 1…7 of each 8-token window of the validation batches;
    // each spells the bytes of its decoded text (the end-of-text token spells none).
    const tokenizer = await readTokenizerJson(join(dir, 'run', 'tokenizer.json'));
    const batches = evalBatches(encodeStream(tokenizer, [text(40, 1)]), 8, 4, 32);
    let targets = 0;
    let bytes = 0;
    for (const rows of batches) {
      for (let k = 0; k < rows.length; k++) {
        if (k % 8 === 0) continue;
        const id = rows[k]!;
        targets++;
        bytes += tokenizer.isAdded(id) ? 0 : Buffer.byteLength(tokenizer.decode([id]), 'utf8');
      }
    }
    expect(bytes).toBeGreaterThan(targets); // ~4 letters a token: not the nats-per-token figure renamed
    expect(r.bitsPerByte).toBeCloseTo((targets * Math.log2(300)) / bytes, 5);
  }, 60_000);

  it('summary.json and scion eval report the same bits per byte', async () => {
    const s = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as { valLoss: number; bitsPerByte: number };
    const io = captureIo(dir);
    expect(await main(['eval', 'tiny.scion', '--weights', 'run/model.safetensors', '--data', 'val', '--batches', '32', '--json'], io), io.stderr).toBe(0);
    const r = JSON.parse(io.stdout) as { bitsPerByte: number };
    expect(s.bitsPerByte).toBeGreaterThan(0);
    expect(r.bitsPerByte).toBeCloseTo(s.bitsPerByte, 5);
  }, 60_000);

  it('bitsPerByteOf: uniform over 256 single-byte tokens is 8 bits per byte', () => {
    expect(bitsPerByteOf(Math.log(256), [Int32Array.of(1, 2, 3, 4, 5, 6)], 3, () => 1)).toBeCloseTo(8, 12);
    // two-byte tokens halve it; a row's first position is no target, so its bytes do not count
    expect(bitsPerByteOf(Math.log(256), [Int32Array.of(9, 1, 1)], 3, (id) => (id === 9 ? 100 : 2))).toBeCloseTo(4, 12);
    expect(bitsPerByteOf(1, [Int32Array.of(1, 2)], 2, () => 0)).toBeNull();
  });
});

describe('scion eval (validation mode)', () => {
  it('reports the validation loss the job measured, with perplexity and baseline', async () => {
    const io = captureIo(dir);
    const code = await main(['eval', 'tiny.scion', '--weights', 'run/model.safetensors', '--data', 'val', '--batches', '32', '--json'], io);
    expect(code, io.stderr).toBe(0);
    const r = JSON.parse(io.stdout) as { loss: number; perplexity: number; baselineLoss: number };
    const s = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as { valLoss: number; baselineLoss: number };
    expect(r.loss).toBeCloseTo(s.valLoss, 5);
    expect(r.perplexity).toBeCloseTo(Math.exp(r.loss), 8);
    expect(r.baselineLoss).toBeCloseTo(s.baselineLoss, 12);
  }, 60_000);
});

describe('--resume', () => {
  it('continues an interrupted run with bit-identical losses', async () => {
    const io = captureIo(dir);
    const program = loadSpec('tiny.scion', io, 'test')!;
    const job = async (out: string) => prepareLmJob(program, 'Tiny', { outDir: join(dir, out), cwd: dir, steps: 9, log: () => undefined });
    const full = await job('full');
    await trainLm(full.plan, { outDir: join(dir, 'full'), resume: false, backend: referenceBackend, progress: false });

    const cut = await job('cut');
    const crash = new Error('simulated crash after step 5');
    await expect(
      trainLm(cut.plan, {
        outDir: join(dir, 'cut'),
        resume: false,
        backend: referenceBackend,
        progress: false,
        onProgress: (p) => {
          if (p.step === 5) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    expect(losses(join(dir, 'cut'))).toHaveLength(5);
    const resumed = await trainLm((await job('cut')).plan, { outDir: join(dir, 'cut'), resume: true, backend: referenceBackend, progress: false });
    expect(resumed.summary.resumedFrom).toMatch(/step-0+4\.safetensors$/);
    const a = losses(join(dir, 'full'));
    const b = losses(join(dir, 'cut'));
    expect(b).toHaveLength(9);
    expect(b).toEqual(a); // exact: same floats, not merely close
  }, 120_000);
});

describe('--seed', () => {
  it("replaces the spec's seed: the same seed repeats a run exactly, another one changes it, and summary.json records it", async () => {
    const runWith = async (out: string, seed?: string): Promise<number[]> => {
      const io = captureIo(dir);
      const args = ['train', 'tiny.scion', '--out', out, '--device', 'reference', '--steps', '3', '--json', ...(seed === undefined ? [] : ['--seed', seed])];
      const code = await main(args, io);
      if (code !== 0) throw new Error(io.stderr);
      return losses(join(dir, out));
    };
    const spec = await runWith('seed-spec');
    const five = await runWith('seed-5', '5'); // the spec says seed = 5
    const nine = await runWith('seed-9', '9');
    expect(five).toEqual(spec);
    expect(nine).not.toEqual(spec);
    const s = JSON.parse(readFileSync(join(dir, 'seed-9', 'summary.json'), 'utf8')) as { seed: number };
    expect(s.seed).toBe(9);
    const bad = captureIo(dir);
    expect(await main(['train', 'tiny.scion', '--seed', '-1'], bad)).toBe(2);
    expect(bad.stderr).toMatch(/--seed takes an integer >= 0/);
  }, 120_000);
});
