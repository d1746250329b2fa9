// YAML diagnostics as exact text: the line:column of the key or value at fault in the YAML file,
// what was expected and what was found, and the nearest accepted key for an unknown one.

import { describe, expect, it } from 'vitest';
import { loadYaml } from '../../../grammar/yaml/load.ts';

function lines(text: string): string[] {
  return loadYaml(text, 'x.yaml').diagnostics.map(
    (d) => `${d.span.start.line}:${d.span.start.col}: ${d.code}: ${d.message}${d.suggestion === undefined ? '' : ` (${d.suggestion})`}`,
  );
}

const HEAD = 'scion: 1\ndecls:\n';

describe('schema errors', () => {
  it.each([
    [
      'unknown key, with the nearest field',
      `${HEAD}  - train: T\n    stesp: 2k\n`,
      ['4:5: E0207: unknown key `stesp` in a train declaration (did you mean `steps`?)'],
    ],
    [
      'unknown statement key',
      `${HEAD}  - model: M\n    body:\n      - let: h\n        valeu: 1\n`,
      ['5:9: E0209: a let statement needs the key `value`', '6:9: E0207: unknown key `valeu` in a let statement (did you mean `value`?)'],
    ],
    ['unknown top-level key', 'scion: 1\ndelcs: []\n', ['2:1: E0207: unknown key `delcs` in the top level (did you mean `decls`?)']],
    [
      'wrong type: a number for a list of strings',
      `${HEAD}  - adapter: A\n    on: M\n    targets: 3\n    rank: 8\n`,
      ['5:14: E0208: `targets`: expected a list, found a number (3)'],
    ],
    [
      'wrong type: a list item',
      `${HEAD}  - inherit: C\n    from: P\n    at: p.safetensors\n    except: [a.*, 2]\n`,
      ['6:19: E0208: `except[1]`: expected a string, found a number (2)'],
    ],
    [
      'a null where a value is needed',
      `${HEAD}  - train: T\n    data:\n`,
      ['4:5: E0208: `data`: expected a number, true/false, a string (an expression), a list or a map, found nothing'],
    ],
    [
      'a nested null in a list value',
      `${HEAD}  - let: x\n    value: [1, [2, null]]\n`,
      ['4:20: E0208: `value[1][1]`: expected a number, true/false, a string (an expression), a list or a map, found nothing'],
    ],
    [
      'a name that is not a name',
      `${HEAD}  - let: two words\n    value: 1\n`,
      ['3:10: E0208: `let`: expected a name (letters, digits and _, not starting with a digit), found `two words`'],
    ],
    ['missing key', `${HEAD}  - inherit: C\n    from: P\n`, ['3:5: E0209: an inherit declaration needs the key `at`']],
    [
      'not a declaration',
      `${HEAD}  - trian: T\n    steps: 1\n`,
      [
        '3:5: E0211: this item is not a declaration: it needs one of the keys `model`, `layer`, `let`, `inherit`, `prune`, `adapter`, `train`, `sample` (did you mean `train`?)',
      ],
    ],
    [
      'not a statement',
      `${HEAD}  - model: M\n    body:\n      - ouput: y\n        value: 1\n`,
      [
        '5:9: E0211: this item is not a statement: it needs one of the keys `input`, `let`, `output`, `repeat`, `require`, `param`, `return` (did you mean `output`?)',
      ],
    ],
    ['missing version', 'decls: []\n', ['1:1: E0210: the document must start with `scion: 1` (write `scion: 1` as the first line after the modeline)']],
    [
      'unsupported version',
      'scion: 2\n',
      ['1:8: E0210: unsupported version a number (2) of the YAML form; this scion reads `scion: 1` (write `scion: 1` as the first line after the modeline)'],
    ],
    [
      'not a map at all',
      '- 1\n',
      ['1:1: E0210: a YAML spec is a map starting with `scion: 1`, found a list (write `scion: 1` as the first line after the modeline)'],
    ],
  ])('%s', (_name, text, expected) => {
    expect(lines(text)).toEqual(expected);
  });
});

describe('expressions inside YAML point into the YAML', () => {
  it('a syntax error in a plain scalar', () => {
    expect(lines(`${HEAD}  - let: x\n    value: foo(1,, 2)\n`)).toEqual(['4:18: E0103: expected `)`, found `,`']);
  });

  it('a syntax error in a double-quoted scalar with escapes before it', () => {
    // The quote opens at column 12 and `\"a\" +` fills columns 13-19, so `*` (value index 5) is at column 20.
    expect(lines(`${HEAD}  - let: x\n    value: "\\"a\\" +* 1"\n`)).toEqual(['4:20: E0103: expected an expression, found `*`']);
  });

  it('a syntax error in a number-like field value keeps its column', () => {
    expect(lines(`${HEAD}  - train: T\n    steps: 2kk\n`)).toEqual([
      '4:12: E0104: invalid number `2kk` (write digits with an optional fraction, exponent and one suffix: `2k`, `1.5M`, `1e-4`)',
    ]);
  });

  it('a tensor type: bad dtype with a suggestion, and a malformed type', () => {
    expect(lines(`${HEAD}  - model: M\n    body:\n      - input: x\n        type: f23[b]\n      - input: y\n        type: "[b]"\n`)).toEqual([
      '6:15: E0502: unknown dtype `f23`; expected one of f32, f16, bf16, i32, bool (did you mean `f32`?)',
      '8:15: E0212: expected a tensor type such as `i32[batch, ctx]`, found `[b]`',
    ]);
  });

  it('an empty expression string', () => {
    expect(lines(`${HEAD}  - let: x\n    value: ""\n`)).toEqual(['4:12: E0208: expected an expression, found an empty string']);
  });

  it('a derived model with an argument list that is not one', () => {
    expect(lines(`${HEAD}  - model: T\n    from: M\n    args: 2048, dim = 3\n`)).toEqual([]);
    expect(lines(`${HEAD}  - model: T\n    from: M\n    args: 1) + (2\n`)).toEqual([
      '5:11: E0213: `args` must hold an argument list such as `2048, dim = 192`, found `1) + (2`',
    ]);
  });

  it('spans of expressions are YAML positions', () => {
    const { program } = loadYaml(`${HEAD}  - let: x\n    value: 1 + foo\n`, 'x.yaml');
    const d = program.decls[0]!;
    if (d.kind !== 'binding' || d.value.kind !== 'binary') throw new Error('expected a binding of a binary expression');
    expect(d.name.span.start).toEqual({ line: 3, col: 10, offset: 25 });
    expect(d.value.right.span.start).toEqual({ line: 4, col: 16, offset: 42 });
    expect(d.value.right.span.end).toEqual({ line: 4, col: 19, offset: 45 });
  });
});

describe('YAML syntax', () => {
  it('a duplicate key', () => {
    expect(lines(`${HEAD}  - train: T\n    steps: 1\n    steps: 2\n`)).toEqual([
      '5:5: E0201: the key `steps` is set twice in this map (first on line 4) (keep one of them)',
    ]);
  });

  it('bad indentation', () => {
    const out = lines('scion: 1\ndecls:\n  - let: x\n   value: 1\n');
    expect(out.length).toBeGreaterThan(0);
    expect(out.every((l) => l.includes(': E0201: '))).toBe(true);
    expect(out[0]!.startsWith('4:')).toBe(true);
  });

  it('empty text', () => {
    expect(lines('')).toEqual(['1:1: E0210: the YAML spec is empty; it must start with `scion: 1`']);
  });
});
