// Documents → one token stream, each document followed by the tokenizer's end-of-text id: how
// every language-model job (and the playground's page) turns texts into training tokens. Pure:
// lm-data.ts reads the texts from files, a page fetches them.

import type { BpeTokenizer } from '../../runtime/tokenizer/bpe.ts';
import { GPT2_EOT } from '../../runtime/tokenizer/gpt2.ts';

/** The end-of-text id of a tokenizer, if it has one (documents are separated by it). */
export function endOfText(tokenizer: BpeTokenizer): number | undefined {
  return tokenizer.model.addedTokens.find((t) => t.content === GPT2_EOT)?.id;
}

/** All documents as one token stream, each followed by end-of-text when the tokenizer has it. */
export function encodeStream(tokenizer: BpeTokenizer, docs: readonly string[]): Int32Array {
  const eot = endOfText(tokenizer);
  const ids: number[] = [];
  for (const d of docs) {
    for (const id of tokenizer.encode(d)) ids.push(id);
    if (eot !== undefined) ids.push(eot);
  }
  return Int32Array.from(ids);
}
