// The first diagnostic is the real one (issue 19): a valid spec with one fault put in at a known
// place — brackets nested 101 to 10,000 deep, `repeat`s nested as deep, a bracket left open deep
// inside, a name with a character outside ASCII (accents in NFC and NFD, combining marks,
// zero-width joiners, direction marks, emoji, look-alike letters), a stray invisible character,
// a byte-order mark. Whatever the fault, checking never throws, the first diagnostic sorted by
// position is the fault's at the fault's line and column, and no message names an empty name or
// a model with "no output" (the follow-on errors a partial tree used to give).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../../grammar/check/check-source.ts';
import { sortDiagnostics } from '../../../grammar/diagnostics/render.ts';
import type { Diagnostic } from '../../../grammar/diagnostics/diagnostic.ts';

const HEAD = 'model M(dim = 4) {\n  input x: f32[2, dim]\n';
const TAIL = '  output y = Linear(h, 3) as head\n}\n\nmodel N {\n  input x: f32[2, 4]\n  output y = Linear(x, 3)\n}\n';
const BODY = '  h = Linear(x, dim) as proj\n  repeat i in 0..2 {\n    h = h + Linear(h, dim) as layers[i]\n  }\n';
const VALID = HEAD + BODY + TAIL;

/** A spec and where its one fault is: the code, the offset, and words its message must have. */
interface Faulty {
  text: string;
  code: string;
  offset: number;
  says: string;
}

const cp = (ch: string): string => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** `n` brackets around `x` in the first layer's argument; the 101st is refused. */
const deepParens = (n: number): Faulty => {
  const before = `${HEAD}  h = Linear(`;
  return {
    text: `${before}${'('.repeat(n)}x${')'.repeat(n)}, dim) as proj\n${BODY.slice(BODY.indexOf('\n') + 1)}${TAIL}`,
    code: 'E0106',
    // The model's `{` and the call's `(` are two levels already.
    offset: before.length + 98,
    says: 'brackets nest more than 100 levels deep',
  };
};

/** `n` nested `repeat` blocks; the 101st `{` (the model's is the first) is refused. */
const deepRepeats = (n: number): Faulty => {
  let text = `${HEAD}  h = Linear(x, dim) as proj\n`;
  let refused = -1;
  for (let k = 0; k < n; k++) {
    text += `  repeat i${k} in 0..1 {\n`;
    if (k === 99) refused = text.length - 2;
  }
  text += `    h = Linear(h, dim)\n${'  }\n'.repeat(n)}${TAIL}`;
  return { text, code: 'E0106', offset: refused, says: 'brackets nest more than 100 levels deep' };
};

/** The call `Linear(` is never closed; `k` balanced brackets nest inside it. */
const unclosed = (k: number): Faulty => {
  const before = `${HEAD}  h = Linear`;
  return {
    text: `${before}(${'('.repeat(k)}x${')'.repeat(k)}, dim\n${BODY.slice(BODY.indexOf('\n') + 1)}${TAIL}`,
    code: 'E0110',
    offset: before.length,
    says: '`(` is never closed',
  };
};

/** Characters outside ASCII that may end up in a name, and why each is there. */
const ODD_CHARS: readonly string[] = [
  'é', // NFC: one code point
  'e\u0301', // NFD: `e` and a combining acute accent
  '\u0301', // a combining mark alone
  '\u200D', // zero-width joiner
  '\u200C', // zero-width non-joiner
  '\u200F', // right-to-left mark inside a name
  '\u202E', // right-to-left override
  '\u{1F642}', // an emoji (a surrogate pair)
  '\u{1F469}\u200D\u{1F4BB}', // an emoji sequence joined by ZWJ
  '\u0430', // Cyrillic а, looks like Latin a
  '\u03BF', // Greek ο, looks like Latin o
  'ß',
  '名',
  '\u00B5', // micro sign
  '\uFF41', // fullwidth a
];

/** The first layer's name `h` spelled `h<odd>h` everywhere in model M. */
const oddName = (odd: string, where: number): Faulty => {
  const name = `${'h'.repeat(where)}${odd}h`;
  const body = BODY.replaceAll('h = ', `${name} = `).replaceAll('(h,', `(${name},`).replaceAll('h + ', `${name} + `);
  const text = `${HEAD}${body}${TAIL.replace('(h,', `(${name},`)}`;
  const first = text.indexOf(name) + where;
  // The first character outside ASCII is what the message names (an `e` of NFD is ASCII).
  const at = [...odd].findIndex((c) => c.codePointAt(0)! >= 0x80);
  const offset = first + [...odd].slice(0, at).join('').length;
  return { text, code: 'E0109', offset, says: cp([...odd][at]!) };
};

/** An invisible character alone between two tokens: skipped, and named by its code point. */
const stray = (ch: string): Faulty => {
  const before = `${HEAD}  h = Linear(x,`;
  return { text: `${before}${ch} dim) as proj\n${BODY.slice(BODY.indexOf('\n') + 1)}${TAIL}`, code: 'E0101', offset: before.length, says: cp(ch) };
};

function firstError(text: string): { first: Diagnostic | undefined; all: Diagnostic[] } {
  const r = checkSource(text, 'f.scion', () => undefined);
  const all = sortDiagnostics(r.diagnostics.filter((d) => d.severity === 'error'));
  return { first: all[0], all };
}

function expectFirst(f: Faulty): void {
  const { first, all } = firstError(f.text);
  const before = f.text.slice(0, f.offset);
  const line = before.split('\n').length;
  const col = f.offset - before.lastIndexOf('\n');
  expect({ code: first?.code, line: first?.span.start.line, col: first?.span.start.col, offset: first?.span.start.offset }).toEqual({
    code: f.code,
    line,
    col,
    offset: f.offset,
  });
  expect(first?.message).toContain(f.says);
  for (const d of all) {
    expect(d.message).not.toContain('``');
    expect(d.message).not.toMatch(/has no output/);
  }
}

// A coarse time bound (bench/large-inputs.ts has the real ones): 10,000-deep inputs take well under it.
describe('the first diagnostic is the real fault', { timeout: 30_000 }, () => {
  it('the spec without a fault is clean', () => {
    expect(firstError(VALID).all).toEqual([]);
  });

  it('brackets nested 101 to 10,000 deep', () => {
    fc.assert(
      fc.property(fc.integer({ min: 101, max: 10_000 }), (n) => expectFirst(deepParens(n))),
      { numRuns: 25 },
    );
  });

  it('repeat blocks nested 100 to 10,000 deep', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 10_000 }), (n) => expectFirst(deepRepeats(n))),
      { numRuns: 15 },
    );
  });

  it('a bracket left open with 0 to 98 levels inside it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 98 }), (k) => expectFirst(unclosed(k))),
      { numRuns: 25 },
    );
  });

  it('a name with a character outside ASCII, anywhere in the name', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ODD_CHARS), fc.integer({ min: 1, max: 3 }), (odd, where) => expectFirst(oddName(odd, where))),
      { numRuns: 60 },
    );
  });

  it('a name outside ASCII is one error per use and nothing else', () => {
    const { all } = firstError(oddName('é', 1).text);
    expect(all.map((d) => d.code)).toEqual(Array(all.length).fill('E0109'));
    expect(all[0]!.message).toBe('name `héh` has `é` (U+00E9), a character outside ASCII; names are ASCII letters, digits and `_`');
    expect(all[0]!.suggestion).toBe('write `heh`');
  });

  it('a look-alike letter gets no suggestion that would name something else', () => {
    const { all } = firstError(oddName('\u0430', 1).text);
    expect(all[0]!.message).toBe('name `h\u0430h` has `\u0430` (U+0430), a character outside ASCII; names are ASCII letters, digits and `_`');
    expect(all[0]!.suggestion).toBe('use ASCII letters, digits and `_` (non-ASCII text belongs in strings and comments)');
  });

  it('an invisible character between tokens is one E0101 naming its code point', () => {
    for (const ch of ['\u200B', '\u200F', '\u202E', '\u2060', '\u0301']) {
      const f = stray(ch);
      expectFirst(f);
      expect(firstError(f.text).all.map((d) => d.message)).toEqual([`unexpected character ${cp(ch)}`]);
    }
  });

  it('a byte-order mark at the start is not an error; non-ASCII text in strings and comments is fine', () => {
    expect(firstError(`\uFEFF${VALID}`).all).toEqual([]);
    expect(firstError(`// café, 名前, \u{1F642}\n${VALID.replace('as proj', 'as proj // naïve')}`).all).toEqual([]);
  });
});
