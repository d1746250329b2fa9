// The parser never throws, whatever the input, and every diagnostic points inside the text with a
// consistent line/column. Three sources of input: arbitrary strings, soups of real tokens (which
// drive the parser's recovery much harder than random bytes), and damaged copies of the specs.

import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Pos } from '../../../grammar/ast.ts';
import type { Diagnostic } from '../../../grammar/diagnostics/diagnostic.ts';
import { formatProgram } from '../../../grammar/dsl/format.ts';
import { parseExpr, parseProgram } from '../../../grammar/dsl/parse.ts';

const SPECS = readdirSync('specs')
  .filter((f) => f.endsWith('.scion'))
  .map((f) => readFileSync(`specs/${f}`, 'utf8'));

/** Line and column of an offset, computed independently of the parser's locator. */
function posAt(text: string, offset: number): Pos {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - (before.lastIndexOf('\n') + 1) + 1, offset };
}

function checkDiagnostics(text: string, diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) {
    for (const p of [d.span.start, d.span.end]) {
      expect(p.offset).toBeGreaterThanOrEqual(0);
      expect(p.offset).toBeLessThanOrEqual(text.length);
      expect(p).toEqual(posAt(text, p.offset));
    }
    expect(d.span.end.offset).toBeGreaterThanOrEqual(d.span.start.offset);
    expect(d.message.length).toBeGreaterThan(0);
  }
  expect(diagnostics.length).toBeLessThanOrEqual(101);
}

/** Parse, check positions, and — when clean — check that formatting round-trips. */
function exercise(text: string): void {
  const r = parseProgram(text, 'f.scion');
  checkDiagnostics(text, r.diagnostics);
  if (r.diagnostics.length === 0) {
    const out = formatProgram(r.program);
    expect(formatProgram(parseProgram(out, 'f.scion').program)).toBe(out);
  }
  const e = parseExpr(text, 'f.scion');
  checkDiagnostics(text, e.diagnostics);
}

const TOKENS = [
  'model',
  'layer',
  'let',
  'import',
  'inherit',
  'from',
  'at',
  'prune',
  'to',
  'adapter',
  'on',
  'train',
  'sample',
  'input',
  'output',
  'repeat',
  'in',
  'require',
  'param',
  'return',
  'as',
  'frozen',
  'preset',
  'when',
  'true',
  'false',
  'x',
  'Llama',
  'f32',
  'i32',
  '0',
  '2k',
  '1e-4',
  '1e',
  '"s"',
  '"open',
  '"\\q"',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '=',
  '==',
  ',',
  ';',
  ':',
  '.',
  '..',
  '+',
  '-',
  '*',
  '**',
  '/',
  '%',
  '!',
  '<',
  '>=',
  '&&',
  '||',
  '//c\n',
  '\n',
  ' ',
  '@',
  '\u00e9',
  '\uD800',
];

describe('the parser never throws', () => {
  it('on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), exercise), { numRuns: 300 });
  });

  it('on soups of tokens', () => {
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }).map((ts) => ts.join(' '));
    fc.assert(fc.property(soup, exercise), { numRuns: 600 });
  });

  it('on damaged specs (cut, spliced or with tokens inserted)', () => {
    const damaged = fc
      .tuple(fc.constantFrom(...SPECS), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 40 }), fc.constantFrom('', ...TOKENS)), { minLength: 1, maxLength: 4 }))
      .map(([text, edits]) => {
        let t = text;
        for (const [at, len, insert] of edits) {
          const i = at % (t.length + 1);
          t = t.slice(0, i) + insert + t.slice(i + len);
        }
        return t;
      });
    fc.assert(fc.property(damaged, exercise), { numRuns: 120 });
  });

  it('on deep nesting of every bracket kind, open and closed', () => {
    for (const open of ['(', '[', '{', 'f(', 'a[', '{a = ', 'model M { repeat i in 0..1 { ']) {
      for (const n of [99, 100, 101, 1000]) {
        exercise(`let a = ${open.repeat(n)}1`);
        exercise(open.repeat(n));
      }
    }
  });
});
