// Language-model data for the job: the texts of a data source, the tokenizer (GPT-2's BPE
// compressed to the model's vocabulary on the training split, cached as tokenizer.json in the
// run's folder), token streams with documents separated by the end-of-text token, and the fixed
// validation batches every evaluation reads.

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadBrown, readTextSource, type BrownSplit } from '../../runtime/data/index.ts';
import { compressVocab, gpt2Tokenizer, readTokenizerJson, writeTokenizerJson, type BpeTokenizer } from '../../runtime/tokenizer/index.ts';
import { JobError } from './errors.ts';

// Pure, so the playground's page shares them; here for the callers that read data from files.
export { encodeStream, endOfText } from './token-stream.ts';

/** A data source as the spec's `train` declares it (the compiler's DataSpec, structurally). */
export interface DataSource {
  source: string;
  args: Readonly<Record<string, unknown>>;
  /** `file:line` of the spec, for messages. */
  where: string;
}

const BROWN_SPLITS: readonly BrownSplit[] = ['train', 'val', 'calib'];

/** The documents of a language-modelling source (each a separate text). */
export async function sourceTexts(d: DataSource, cwd: string): Promise<string[]> {
  if (d.source === 'brown') {
    const task = String(d.args['task'] ?? 'lm');
    if (task !== 'lm')
      throw new JobError(`${d.where}: brown(task = "${task}") is classification data; scion train runs language modelling (task = "lm") only so far`);
    const split = String(d.args['split'] ?? 'train');
    if (!BROWN_SPLITS.includes(split as BrownSplit)) throw new JobError(`${d.where}: brown has the splits ${BROWN_SPLITS.join(', ')}, not "${split}"`);
    return loadBrown(split as BrownSplit).map((doc) => doc.text);
  }
  if (d.source === 'text') {
    const path = String(d.args['path']);
    const files = await readTextSource(path.startsWith('/') ? path : `${cwd}/${path}`);
    return files.map((f) => f.text);
  }
  throw new JobError(`${d.where}: the data source ${d.source}(…) is not supported yet by scion train (brown and text are)`);
}

export interface PreparedTokenizer {
  tokenizer: BpeTokenizer;
  /** Where it came from, for the log line. */
  origin: string;
}

/**
 * The spec's tokenizer file when given; else `cachePath` when it exists with the right size; else
 * GPT-2's BPE compressed to `vocab` ids on `corpus`, written to `cachePath`.
 */
export async function prepareTokenizer(o: { vocab: number; corpus: readonly string[]; cachePath: string; file?: string }): Promise<PreparedTokenizer> {
  if (o.file !== undefined) {
    const tokenizer = await readTokenizerJson(o.file);
    if (tokenizer.size > o.vocab) throw new JobError(`${o.file}: the tokenizer has ${tokenizer.size} ids, more than the model's vocab of ${o.vocab}`);
    return { tokenizer, origin: o.file };
  }
  if (existsSync(o.cachePath)) {
    const tokenizer = await readTokenizerJson(o.cachePath);
    if (tokenizer.size === o.vocab) return { tokenizer, origin: `${o.cachePath} (cached)` };
  }
  const c = compressVocab(gpt2Tokenizer(), o.corpus, { size: o.vocab });
  await mkdir(dirname(o.cachePath), { recursive: true });
  await writeTokenizerJson(o.cachePath, c.tokenizer);
  return { tokenizer: c.tokenizer, origin: `GPT-2 BPE compressed to ${o.vocab} ids (${(100 * c.coverage).toFixed(1)}% of GPT-2's tokens kept)` };
}

/**
 * Up to `maxBatches` fixed batches of `ctx`-token windows spread evenly over the stream (so a
 * small evaluation still sees every part of the validation text), each [batch, ctx] row-major.
 */
export function evalBatches(tokens: Int32Array, ctx: number, batch: number, maxBatches: number): Int32Array[] {
  const windows = Math.floor((tokens.length - 1) / (ctx - 1)); // neighbours share one token, as LmBatcher
  const count = Math.min(maxBatches, Math.floor(windows / batch));
  if (count < 1) throw new JobError(`the validation text has ${tokens.length} tokens: fewer than one batch of ${batch}×${ctx}`);
  const used = count * batch;
  const out: Int32Array[] = [];
  for (let k = 0; k < count; k++) {
    const rows = new Int32Array(batch * ctx);
    for (let r = 0; r < batch; r++) {
      const w = Math.floor(((k * batch + r) * windows) / used);
      rows.set(tokens.subarray(w * (ctx - 1), w * (ctx - 1) + ctx), r * ctx);
    }
    out.push(rows);
  }
  return out;
}
