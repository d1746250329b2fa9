// The VS Code extension is not built in CI, but its TextMate grammar must know every keyword the
// lexer has: a keyword added to grammar/dsl/lexer.ts fails here until the grammar names it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_TOKENS } from '../../grammar/dsl/lexer.ts';
import { ROOT } from './client.ts';

const grammarText = readFileSync(join(ROOT, 'editors', 'vscode', 'syntaxes', 'scion.tmLanguage.json'), 'utf8');
const grammar = JSON.parse(grammarText) as { repository: Record<string, { match?: string; patterns?: { match?: string }[] }> };

const KEYWORDS = ALL_TOKENS.map((t) => t.PATTERN)
  .filter((p): p is RegExp => p instanceof RegExp && /^[a-z]+$/.test(p.source))
  .map((p) => p.source);

/** Every alternative word inside a `(a|b|c)` group of the grammar's patterns. */
const grammarWords = new Set(
  Object.values(grammar.repository)
    .flatMap((r) => [r.match, ...(r.patterns ?? []).map((p) => p.match)])
    .flatMap((m) => [...(m ?? '').matchAll(/\(([a-z0-9|]+)\)/g)].flatMap((g) => (g[1] as string).split('|'))),
);

describe('editors/vscode TextMate grammar', () => {
  it('highlights every keyword of the lexer', () => {
    expect(KEYWORDS.length).toBeGreaterThan(20);
    expect(KEYWORDS.filter((k) => !grammarWords.has(k))).toEqual([]);
  });
  it('every pattern is a valid regular expression', () => {
    for (const r of Object.values(grammar.repository))
      for (const m of [r.match, ...(r.patterns ?? []).map((p) => p.match)]) if (m) expect(() => new RegExp(m)).not.toThrow();
  });
});
