// Nearest-name suggestions ("did you mean `heads`?") by Damerau-Levenshtein distance (optimal
// string alignment: insertions, deletions, substitutions and adjacent transpositions cost 1).

/** Edit distance with adjacent transpositions; case differences cost 1 like any substitution. */
export function editDistance(a: string, b: string): number {
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  // Three rolling rows: two back (for transpositions), previous, current.
  let back2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, back2[j - 2]! + 1);
      cur[j] = best;
    }
    [back2, prev, cur] = [prev, cur, back2];
  }
  return prev[m]!;
}

/**
 * The candidate nearest to `name`, or undefined when none is close enough. The cutoff grows with
 * the name: one edit for names up to 4 characters, then one more per 3 characters, and never so
 * many that the whole name could be replaced (`x` never suggests `y`). A candidate equal but for
 * case always wins.
 *
 * @example nearest('haeds', ['heads', 'dim']) // 'heads'
 */
export function nearest(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  const cutoff = Math.max(1, Math.floor((name.length - 1) / 3));
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    if (c === name) continue;
    if (c.toLowerCase() === lower) return c;
    if (Math.abs(c.length - name.length) > cutoff) continue;
    const d = editDistance(name, c);
    // Ties keep the first candidate, so callers order candidates by preference.
    if (d < bestDist && d <= cutoff && d < Math.max(name.length, c.length)) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}

/** "did you mean `x`?" or undefined, ready for Diagnostic.suggestion. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const hit = nearest(name, candidates);
  return hit === undefined ? undefined : `did you mean \`${hit}\`?`;
}
