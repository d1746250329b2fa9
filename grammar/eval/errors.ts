// Instantiation and lowering meet user errors with the chosen sizes (a failed `require`, shapes
// that only disagree once dims are numbers). They are reported as diagnostics carried by one
// exception type, so callers print them like any other; anything else thrown here is a bug. The
// compiler throws the same LowerError from lowering.

import type { Span } from '../ast.ts';
import type { Diagnostic, Related } from '../diagnostics/diagnostic.ts';
import type { Code } from '../diagnostics/catalog.ts';

export class LowerError extends Error {
  readonly diagnostic: Diagnostic;
  constructor(code: Code, message: string, span: Span, notes: Related[] = [], suggestion?: string) {
    super(message);
    this.name = 'LowerError';
    this.diagnostic = { code, severity: 'error', message, span, notes, ...(suggestion === undefined ? {} : { suggestion }) };
  }
}

/** A span for values that come from the command line rather than a file. */
export function commandLineSpan(what: string): Span {
  const p = { line: 1, col: 1, offset: 0 };
  return { file: `<command line: ${what}>`, start: p, end: p };
}

/** The candidate nearest to `name` by edit distance, if it is close enough to be a likely typo. */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
