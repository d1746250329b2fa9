// The formatter: the example specs are already canonical, parse∘format is the identity on trees
// (modulo spans) for the specs and for generated programs, and formatting is idempotent.

import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stripSpans } from '../../../grammar/ast-utils.ts';
import { formatExpr, formatProgram } from '../../../grammar/dsl/format.ts';
import { parseExpr, parseProgram } from '../../../grammar/dsl/parse.ts';
import { exprArb, programArb } from './arbitrary.ts';

const SPECS = readdirSync('specs').filter((f) => f.endsWith('.scion'));

describe('example specs', () => {
  it.each(SPECS)('%s is canonical, and parse(format(parse(x))) = parse(x)', (f) => {
    const text = readFileSync(`specs/${f}`, 'utf8');
    const first = parseProgram(text, f).program;
    const out = formatProgram(first);
    expect(out).toBe(text);
    expect(stripSpans(parseProgram(out, f).program)).toEqual(stripSpans(first));
  });

  it.each(SPECS)('%s: a mangled layout formats back to the original', (f) => {
    const text = readFileSync(`specs/${f}`, 'utf8');
    // Same tokens, other whitespace: everything on few lines, odd spacing. Comments keep their lines.
    const mangled = text
      .split('\n')
      .map((line) => (line.trimStart().startsWith('//') ? line : line.replace(/ = /g, '=').replace(/, /g, ' ,  ')))
      .join('\n');
    expect(formatProgram(parseProgram(mangled, f).program)).toBe(text);
  });
});

it('the example in docs/language.md parses cleanly and is canonical', () => {
  const doc = readFileSync('docs/language.md', 'utf8');
  const example = /```scion\n([\s\S]*?)```/.exec(doc)![1]!;
  const r = parseProgram(example, 'doc.scion');
  expect(r.diagnostics).toEqual([]);
  expect(formatProgram(r.program)).toBe(example);
});

describe('expressions', () => {
  it.each([
    ['(a+b)*c', '(a + b) * c'],
    ['a+(b*c)', 'a + b * c'],
    ['(a-b)-c', 'a - b - c'],
    ['a-(b-c)', 'a - (b - c)'],
    ['(a**b)**c', '(a ** b) ** c'],
    ['a**(b**c)', 'a ** b ** c'],
    ['(-a)**b', '(-a) ** b'],
    ['-(a**b)', '-a ** b'],
    ['a ** (-b)', 'a ** -b'],
    ['-(a+b)', '-(a + b)'],
    ['(f)(x)', 'f(x)'],
    ['(x as p)(y)', '(x as p)(y)'],
    ['(x frozen) as p', '(x frozen) as p'],
    ['(a+b) as p', '(a + b) as p'],
    ['(a when b) when c', 'a when b when c'],
    ['a when (b when c)', 'a when (b when c)'],
    ['(0..n)..m', '0..n..m'],
    ['0..(n+1)', '0..n + 1'],
    ['(1,)', '(1,)'],
    ['{ "a b" = 1, "frozen" = 2, "c" = 3 }', '{ "a b" = 1, "frozen" = 2, c = 3 }'],
    ['"tab\\there \\u{1}"', '"tab\\there \\u{1}"'],
    ['f(x , y=1e-4 ,)', 'f(x, y = 1e-4)'],
  ])('%s → %s', (text, want) => {
    const e = parseExpr(text, 'e');
    expect(e.diagnostics).toEqual([]);
    expect(formatExpr(e.expr!)).toBe(want);
  });

  it('generated expressions print to text that parses back to the same tree', () => {
    fc.assert(
      fc.property(exprArb, (e) => {
        const text = formatExpr(e);
        const back = parseExpr(text, 'e');
        expect(back.diagnostics).toEqual([]);
        expect(stripSpans(back.expr)).toEqual(stripSpans(e));
      }),
      { numRuns: 400 },
    );
  });
});

describe('programs', () => {
  it('long sums break before each top-level + or -, aligned under =', () => {
    const long = 'train T { loss = ' + Array.from({ length: 6 }, (_, i) => `weight_${i} * some_loss_function(logits, target_${i})`).join(' + ') + ' - 1 }';
    const out = formatProgram(parseProgram(long, 't').program);
    const lines = out.split('\n');
    expect(lines[1]).toBe('  loss = weight_0 * some_loss_function(logits, target_0)');
    expect(lines[2]).toBe('       + weight_1 * some_loss_function(logits, target_1)');
    expect(lines[7]).toBe('       - 1');
  });

  it('separates declarations by one blank line and prints empty bodies as {}', () => {
    const out = formatProgram(parseProgram('import "a.scion" import "b.scion" model M {} train M { steps = 1; batch = 2 }', 'p').program);
    expect(out).toBe('import "a.scion"\nimport "b.scion"\n\nmodel M {}\n\ntrain M {\n  steps = 1\n  batch = 2\n}\n');
  });

  it('generated programs: parse(format(p)) = p, and format is idempotent', () => {
    fc.assert(
      fc.property(programArb, (p) => {
        const text = formatProgram(p);
        const back = parseProgram(text, p.file);
        expect(back.diagnostics).toEqual([]);
        expect(stripSpans(back.program)).toEqual(stripSpans(p));
        expect(formatProgram(back.program)).toBe(text);
      }),
      { numRuns: 200 },
    );
  });
});
