// Vocabulary compression (PanGu-π Pro's compact tokenizer, research/seeds.md §1.2): count how often
// the parent's tokens occur on a corpus, keep the special tokens and the 256 byte tokens, then the
// most frequent tokens, and renumber the kept ones in their original order (so old → new is
// monotone). Unlike SentencePiece pruning, BPE needs every kept token to stay reachable by merges:
// a token is only kept together with the parts of the merge that produces it (recursively), and
// only merges whose two parts and result are all kept survive, in their original order.

import { BYTE_TO_CHAR } from './byte-level.ts';
import { BpeTokenizer, type AddedToken } from './bpe.ts';

export interface CompressOptions {
  /** Keep exactly this many ids (used tokens first, by frequency; unused ones fill any rest). */
  size?: number;
  /** Or stop once the kept tokens cover this fraction of the corpus's tokens (0..1]. */
  coverage?: number;
}

export interface CompressedVocab {
  tokenizer: BpeTokenizer;
  /** oldToNew[oldId] = new id, or -1 where the token was dropped. */
  oldToNew: Int32Array;
  /** newToOld[newId] = the parent's id (rows to gather from the parent's embedding). */
  newToOld: Int32Array;
  /** Fraction of the corpus's tokens (as the parent encodes it) whose id was kept. */
  coverage: number;
  /** Corpus tokens counted. */
  corpusTokens: number;
}

/**
 * Compresses `tokenizer`'s vocabulary to the tokens that matter on `corpus`.
 *
 * @example
 * const { tokenizer, newToOld, coverage } = compressVocab(gpt2Tokenizer(), brownTexts, { size: 4096 });
 */
export function compressVocab(tokenizer: BpeTokenizer, corpus: Iterable<string>, options: CompressOptions): CompressedVocab {
  const { size, coverage: target } = options;
  if (size === undefined && target === undefined) throw new Error('compressVocab: give a size, a coverage, or both');
  if (target !== undefined && !(target > 0 && target <= 1)) throw new RangeError(`compressVocab: coverage ${target} is not in (0, 1]`);

  const n = tokenizer.size;
  const counts = new Float64Array(n);
  let total = 0;
  for (const text of corpus) {
    for (const id of tokenizer.encode(text)) counts[id]!++;
  }
  for (let i = 0; i < n; i++) total += counts[i]!;

  const { vocab, merges, addedTokens } = tokenizer.model;
  // The merge producing each token (its first, i.e. highest-priority, one).
  const producer = new Map<string, [string, string]>();
  for (const m of merges) if (!producer.has(m[0] + m[1])) producer.set(m[0] + m[1], m);

  const kept = new Set<number>();
  let covered = 0;
  const keep = (id: number) => {
    if (!kept.has(id)) {
      kept.add(id);
      covered += counts[id]!;
    }
  };
  for (const t of addedTokens) keep(t.id);
  for (const ch of BYTE_TO_CHAR) {
    const id = vocab.get(ch);
    if (id === undefined) throw new Error(`compressVocab: the parent has no token for byte character '${ch}'`);
    keep(id);
  }
  if (size !== undefined && size < kept.size) {
    throw new RangeError(`compressVocab: size ${size} is below the ${kept.size} special and byte tokens that must be kept`);
  }

  /** The ids a token needs: itself plus, recursively, the parts of its producing merge. */
  const closure = (id: number, into: Set<number>) => {
    if (kept.has(id) || into.has(id)) return;
    into.add(id);
    const token = tokenizer.idToToken[id]!;
    const merge = producer.get(token);
    if (merge === undefined) throw new Error(`compressVocab: token ${id} '${token}' is neither a byte nor produced by a merge`);
    closure(vocab.get(merge[0])!, into);
    closure(vocab.get(merge[1])!, into);
  };

  // Unused tokens come last, in id order: they only fill a `size` that the used ones (with the
  // merge parts they need) cannot, e.g. when a frequent token's closure does not fit.
  const candidates = [...Array(n).keys()].filter((id) => !kept.has(id) && tokenizer.idToToken[id] !== undefined);
  candidates.sort((a, b) => counts[b]! - counts[a]! || a - b);
  const done = () => (size !== undefined && kept.size >= size) || (target !== undefined && total > 0 && covered / total >= target);
  for (const id of candidates) {
    if (done()) break;
    if (kept.has(id)) continue;
    const needed = new Set<number>();
    closure(id, needed);
    if (size !== undefined && kept.size + needed.size > size) continue;
    for (const x of needed) keep(x);
  }

  const newToOld = Int32Array.from([...kept].sort((a, b) => a - b));
  const oldToNew = new Int32Array(n).fill(-1);
  newToOld.forEach((old, i) => (oldToNew[old] = i));

  const keptTokens = new Set([...kept].map((id) => tokenizer.idToToken[id]!));
  const newVocab = new Map<string, number>();
  for (const [token, id] of vocab) if (kept.has(id)) newVocab.set(token, oldToNew[id]!);
  const newMerges = merges.filter(([a, b]) => keptTokens.has(a) && keptTokens.has(b) && keptTokens.has(a + b));
  const newAdded: AddedToken[] = addedTokens.map((t) => ({ ...t, id: oldToNew[t.id]! }));

  return {
    tokenizer: new BpeTokenizer({ ...tokenizer.model, vocab: newVocab, merges: newMerges, addedTokens: newAdded }),
    oldToNew,
    newToOld,
    coverage: total === 0 ? 1 : covered / total,
    corpusTokens: total,
  };
}
