// Calibration batches for data-driven selection: the spec's `calib` source (brown(split, batches)
// or text(path)) encoded with the parent's tokenizer into consecutive windows of ctx + 1 tokens —
// inputs [rows, ctx] and next-token targets [rows, ctx]. Only as many documents are encoded as
// the batches need, in the corpus's order, so the batches are deterministic and cheap.

import { isAbsolute, resolve } from 'node:path';
import { loadBrown, readTextSource, type BrownSplit } from '../../../runtime/data/index.ts';
import type { BpeTokenizer } from '../../../runtime/tokenizer/index.ts';
import { InheritError } from '../layout/layout.ts';
import type { LmShape } from './probe.ts';
import type { DataRef } from '../spec/spec-fields.ts';

export interface CalibBatch {
  /** [rows, ctx] */
  readonly tokens: Int32Array;
  /** [rows, ctx]: tokens shifted by one. */
  readonly targets: Int32Array;
}

/** Batches when the source says `batches = 0` (its default) or nothing. */
export const DEFAULT_CALIB_BATCHES = 8;

export interface CalibOptions {
  readonly cwd: string;
  /** Overrides the source's `batches` (the CLI's --calib-batches). */
  readonly batches?: number;
}

async function texts(ref: DataRef | undefined, cwd: string): Promise<string[]> {
  if (ref === undefined || ref.source === 'brown') {
    const split = String(ref?.args.split ?? 'calib');
    if (!['train', 'val', 'calib'].includes(split)) throw new InheritError([`brown has the splits train, val and calib, not "${split}"`]);
    return loadBrown(split as BrownSplit).map((d) => d.text);
  }
  if (ref.source === 'text' && typeof ref.args.path === 'string') {
    const p = ref.args.path;
    return (await readTextSource(isAbsolute(p) ? p : resolve(cwd, p))).map((d) => d.text);
  }
  throw new InheritError([`calibration data ${ref.source}(…) is not supported for language models; use brown(split = "calib") or text(path)`]);
}

/**
 * Encodes calibration text into `batches` batches shaped like the parent's token input.
 *
 * @example
 * const batches = await calibBatches(ref, tokenizer, lmShape(parent), { cwd }); // [{ tokens, targets }, …]
 */
export async function calibBatches(ref: DataRef | undefined, tokenizer: BpeTokenizer, lm: LmShape, opts: CalibOptions): Promise<CalibBatch[]> {
  if (tokenizer.size > lm.vocab) throw new InheritError([`the parent's tokenizer has ${tokenizer.size} ids but its embedding only ${lm.vocab} rows`]);
  const asked = opts.batches ?? (typeof ref?.args.batches === 'number' && ref.args.batches > 0 ? ref.args.batches : DEFAULT_CALIB_BATCHES);
  if (!Number.isInteger(asked) || asked < 1) throw new InheritError([`calibration needs at least one batch, got ${asked}`]);
  const width = lm.ctx + 1;
  const need = asked * lm.rows * width;
  const stream: number[] = [];
  for (const t of await texts(ref, opts.cwd)) {
    for (const id of tokenizer.encode(t)) stream.push(id);
    if (stream.length >= need) break;
  }
  const windows = Math.floor(stream.length / width);
  const batches = Math.min(asked, Math.floor(windows / lm.rows));
  if (batches < 1) throw new InheritError([`the calibration text has ${stream.length} tokens: fewer than one batch of ${lm.rows}×${width}`]);
  const out: CalibBatch[] = [];
  for (let k = 0; k < batches; k++) {
    const tokens = new Int32Array(lm.rows * lm.ctx);
    const targets = new Int32Array(lm.rows * lm.ctx);
    for (let r = 0; r < lm.rows; r++) {
      const w = (k * lm.rows + r) * width;
      for (let t = 0; t < lm.ctx; t++) {
        tokens[r * lm.ctx + t] = stream[w + t]!;
        targets[r * lm.ctx + t] = stream[w + t + 1]!;
      }
    }
    out.push({ tokens, targets });
  }
  return out;
}
