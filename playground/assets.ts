// What the playground's server hands the page besides the script: the default spec, a slice of
// the Brown corpus's training split (untagged by runtime/data/brown.ts, the text `scion train`
// reads) and GPT-2's ranks file, which the page tokenizes itself. Files and data only: no model
// is compiled or run on the server.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadBrown } from '../runtime/data/brown.ts';
import { gpt2RanksPath } from '../runtime/tokenizer/gpt2-file.ts';
import type { BrownSlice } from './assets-paths.ts';

/** Characters of Brown text served: ~60k tokens, many windows of 64 for a few hundred steps of a tiny model. */
export const BROWN_SLICE_CHARS = 300_000;

const ROOT = join(import.meta.dirname, '..');

/** The spec `scion train` runs with no file: the page opens with it. */
export function defaultSpec(): string {
  return readFileSync(join(ROOT, 'specs', 'default.scion'), 'utf8');
}

/** Whole training documents, in file-id order, until `chars` characters. */
export function brownSlice(chars = BROWN_SLICE_CHARS): BrownSlice {
  const slice: BrownSlice = { ids: [], docs: [] };
  let total = 0;
  for (const d of loadBrown('train')) {
    if (total >= chars) break;
    slice.ids.push(d.id);
    slice.docs.push(d.text);
    total += d.text.length;
  }
  return slice;
}

export function gpt2Ranks(): string {
  return readFileSync(gpt2RanksPath(), 'utf8');
}
