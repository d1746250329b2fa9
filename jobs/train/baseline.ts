// The baseline a language model must beat: the unigram entropy of a token stream, in nats per
// token — the cross-entropy of the best context-free predictor (each token's own frequency in that
// very text). A model that uses context at all ends below it.

/** H = −Σ p·ln p over the empirical token frequencies of `tokens` (nats per token). */
export function unigramEntropy(tokens: ArrayLike<number>): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as number;
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const n = tokens.length;
  if (n === 0) return 0;
  let h = 0;
  for (const c of counts.values()) {
    const p = c / n;
    h -= p * Math.log(p);
  }
  return h;
}
