// Validation loss in bits per byte of text: Σ token NLL (nats) / ln 2 / UTF-8 bytes of the text the
// predicted tokens spell. Nats per token depend on the tokenizer (a bigger vocabulary spells more
// bytes per token); bits per byte do not, so runs with different vocabularies — and a compressor
// like `xz` on the same text — compare on it.

import type { BpeTokenizer } from '../../runtime/tokenizer/index.ts';

/**
 * Bits per byte of `meanNll`, the mean next-token NLL (nats) over every target of `batches`:
 * `cross_entropy(logits, next(tokens))` predicts positions 1…ctx−1 of each [batch, ctx] row, each
 * target once, so Σ NLL = meanNll × targets. Null when those targets spell no bytes.
 *
 * @example bitsPerByteOf(Math.log(256), [Int32Array.of(5, 6, 7)], 3, () => 1) // 8: uniform over 256 byte tokens
 */
export function bitsPerByteOf(meanNll: number, batches: readonly Int32Array[], ctx: number, byteLength: (id: number) => number): number | null {
  let targets = 0;
  let bytes = 0;
  for (const rows of batches) {
    for (let r = 0; r * ctx < rows.length; r++) {
      for (let p = 1; p < ctx; p++) {
        bytes += byteLength(rows[r * ctx + p] as number);
        targets++;
      }
    }
  }
  return bytes === 0 ? null : (meanNll * targets) / Math.LN2 / bytes;
}

/** The tokenizer's byte length per id, looked up once (validation reads it per target token). */
export function byteLengths(tokenizer: BpeTokenizer): (id: number) => number {
  const table = Uint32Array.from({ length: tokenizer.size }, (_, id) => (tokenizer.idToToken[id] === undefined ? 0 : tokenizer.byteLength(id)));
  return (id) => table[id] ?? 0;
}
