// How English a sample is, as a number instead of an opinion: the share of its words that are
// words of the training text. A word is a whitespace-separated piece, stripped of the punctuation
// at its ends and lowercased ("Jury's," → "jury's"; a piece of punctuation alone is no word), the
// same rule for the sample and the corpus, so the two sides always agree on what a word is.
// Pure (no Node module): the playground could show it beside its sample too.

/** The share `scion train` prints under its sample and summary.json records (`sampleWordShare`). */
export interface WordShare {
  /** Words of the sample found in the training text. */
  known: number;
  /** Words of the sample. */
  total: number;
  /** known / total; null for a sample with no words. */
  share: number | null;
}

// Letters (any script) and digits; everything else at a piece's ends is punctuation.
const EDGE = /^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu;

/** The words of `text`, in order: whitespace-separated, edge punctuation stripped, lowercased. */
export function wordsOf(text: string): string[] {
  const out: string[] = [];
  for (const piece of text.split(/\s+/u)) {
    const w = piece.replace(EDGE, '').toLowerCase();
    if (w !== '') out.push(w);
  }
  return out;
}

/** Every word of the texts (built once per job from the training documents). */
export function wordSetOf(texts: Iterable<string>): Set<string> {
  const set = new Set<string>();
  for (const t of texts) for (const w of wordsOf(t)) set.add(w);
  return set;
}

/**
 * The share of the words `continuation` adds after `prompt` that are in `known`. The prompt's own
 * words are not counted (a longer prompt would otherwise buy share); a word the continuation
 * finishes (prompt "The" + "ory") is counted whole, as the reader sees it; punctuation that
 * follows the prompt's last word ("The" + ", and") leaves that word the prompt's.
 */
export function wordShare(prompt: string, continuation: string, known: ReadonlySet<string>): WordShare {
  const promptPieces = prompt.split(/\s+/u).filter((p) => p !== '');
  // The continuation finishes the prompt's last word only when a letter or digit meets another.
  const joined = /[\p{L}\p{N}]$/u.test(prompt) && /^[\p{L}\p{N}]/u.test(continuation);
  const pieces = `${prompt}${continuation}`.split(/\s+/u).filter((p) => p !== '');
  const words = wordsOf(pieces.slice(promptPieces.length - (joined ? 1 : 0)).join(' '));
  const found = words.filter((w) => known.has(w)).length;
  return { known: found, total: words.length, share: words.length === 0 ? null : found / words.length };
}

/** "N of M words (P%) are words of the training text", the line under the sample. */
export function wordShareLine(s: WordShare): string {
  const percent = s.share === null ? '–' : `${(100 * s.share).toFixed(0)}%`;
  return `${s.known} of ${s.total} words (${percent}) are words of the training text`;
}
