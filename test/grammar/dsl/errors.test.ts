// Parse diagnostics as exact text (`file:line:col-line:col: severity[code]: message`), recovery
// (many errors per run, later declarations still read) and the nesting caps.

import { describe, expect, it } from 'vitest';
import { parseProgram } from '../../../grammar/dsl/parse.ts';

const DECL = 'a declaration (`model`, `layer`, `let`, `import`, `inherit`, `prune`, `adapter`, `train` or `sample`)';

function lines(text: string): string[] {
  return parseProgram(text, 'x.scion').diagnostics.map(
    (d) => `${d.span.file}:${d.span.start.line}:${d.span.start.col}-${d.span.end.line}:${d.span.end.col}: ${d.severity}[${d.code}]: ${d.message}`,
  );
}

describe('diagnostics', () => {
  it.each([
    ['model M(d = 4) {\n  h = \n}\n', ['x.scion:3:1-3:2: error[E0103]: expected an expression, found `}`']],
    ['train T {\n  steps = 2k\n  batch 32\n  lr = 1e-4\n}\n', ['x.scion:3:9-3:11: error[E0103]: expected `=`, found `32`']],
    [
      'model M {\n  input x: f23[b]\n  output y = x +* 2\n  repeat i 0..2 { }\n}\n',
      [
        'x.scion:2:12-2:15: error[E0502]: unknown dtype `f23`; expected one of f32, f16, bf16, i32, bool',
        'x.scion:3:17-3:18: error[E0103]: expected an expression, found `*`',
        'x.scion:4:12-4:13: error[E0103]: expected `in`, found `0`',
      ],
    ],
    ['let a = "abc\nlet b = 1\n', ['x.scion:1:9-1:13: error[E0102]: unterminated string']],
    [
      'let a = (1, 2\nlet b = 1\n',
      ['x.scion:1:9-1:10: error[E0110]: `(` is never closed: the file ends first', 'x.scion:2:1-2:4: error[E0103]: expected `)`, found `let`'],
    ],
    ['let a = x as 3\n', ['x.scion:1:14-1:15: error[E0103]: expected a name, found `3`']],
    ['let a = 1e + 2kk', ['x.scion:1:9-1:11: error[E0104]: invalid number `1e`', 'x.scion:1:14-1:17: error[E0104]: invalid number `2kk`']],
    ['let a = 1e999', ['x.scion:1:9-1:14: error[E0104]: number `1e999` is too large: a number is at most about 1.8e308 (a double)']],
    [
      'let a = "x\\q\\u{110000}"',
      ['x.scion:1:11-1:13: error[E0105]: invalid escape `\\q` in string', 'x.scion:1:13-1:23: error[E0105]: invalid escape `\\u{110000}` in string'],
    ],
    ['let a = 1 $ 2', ['x.scion:1:11-1:12: error[E0101]: unexpected character `$`', `x.scion:1:13-1:14: error[E0103]: expected ${DECL}, found \`2\``]],
    ['let a = f(x)[0]', ['x.scion:1:9-1:16: error[E0107]: only a name path can take an index `[…]`; this is a call']],
    ['let', ['x.scion:1:4-1:4: error[E0103]: expected a name, found end of input']],
    ['model M { x = 1 } }', [`x.scion:1:19-1:20: error[E0103]: expected ${DECL}, found \`}\``]],
  ])('%j', (text, want) => {
    expect(lines(text)).toEqual(want);
  });

  it('suggests the nearest dtype', () => {
    const d = parseProgram('model M { input x: f23[b] }', 'x').diagnostics[0]!;
    expect(d.suggestion).toBe('did you mean `f32`?');
  });

  it('reports errors in several declarations and still reads the good ones', () => {
    const r = parseProgram('modle M {}\nmodel N {}\ntrain T { a = 1, b = 2,, c = 3 }\nlet x = 1 2\nlet y = 3', 'x');
    expect(r.diagnostics.map((d) => `${d.span.start.line}:${d.span.start.col} ${d.message}`)).toEqual([
      `1:1 expected ${DECL}, found \`modle\``,
      '3:24 expected `}`, found `,`',
      `4:11 expected ${DECL}, found \`2\``,
    ]);
    expect(r.program.decls.map((d) => d.kind)).toEqual(['model', 'train', 'binding', 'binding']);
    const train = r.program.decls[1]!;
    expect(train.kind === 'train' && train.fields.map((f) => f.key)).toEqual(['a', 'b', 'c']);
  });

  it('caps the number of diagnostics with one E0108', () => {
    const r = parseProgram('$'.repeat(1).concat(' $'.repeat(300)), 'x');
    expect(r.diagnostics).toHaveLength(101);
    expect(r.diagnostics.slice(0, 100).every((d) => d.code === 'E0101')).toBe(true);
    expect(r.diagnostics[100]).toMatchObject({ code: 'E0108', message: 'too many errors; 201 more not shown' });
  });
});

describe('nesting caps', () => {
  it('accepts 100 levels of brackets', () => {
    const text = `let a = ${'('.repeat(99)}[1]${')'.repeat(99)}`;
    expect(parseProgram(text, 'x').diagnostics).toEqual([]);
  });

  it('rejects a 101st bracket level with one E0106 at that bracket', () => {
    const r = parseProgram(`let a = ${'('.repeat(250)}1${')'.repeat(250)}\nlet b = 2`, 'x');
    expect(r.diagnostics.map((d) => [d.code, d.span.start.col, d.message])).toEqual([['E0106', 9 + 100, 'brackets nest more than 100 levels deep']]);
  });

  it.each([
    ['operator chains', `let a = ${'1 + '.repeat(5000)}1`],
    ['prefix operators', `let a = ${'-'.repeat(5000)}1`],
    ['call chains', `let a = f${'(x)'.repeat(3000)}`],
    ['as chains', `let a = x${' as y'.repeat(3000)}`],
  ])('caps expression depth for %s with E0106', (_name, text) => {
    const r = parseProgram(text, 'x');
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([['E0106', 'expression nests more than 200 levels deep']]);
  });

  it('long name paths are flat, not deep', () => {
    expect(parseProgram(`let a = x${'.y'.repeat(20000)}${'[1]'.repeat(500)}`, 'x').diagnostics).toEqual([]);
  });
});
