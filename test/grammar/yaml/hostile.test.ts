// Hostile YAML is refused in bounded time and memory with a clear diagnostic, and no input makes
// the loader throw.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../../grammar/check/check-source.ts';
import { loadYaml } from '../../../grammar/yaml/load.ts';
import { YAML_LIMITS } from '../../../grammar/yaml/limits.ts';

/** Loads, and checks it took well under the time a pathological input would. */
function timedCodes(text: string): { codes: string[]; messages: string[] } {
  const start = performance.now();
  const { diagnostics, program } = loadYaml(text, 'h.yaml');
  const ms = performance.now() - start;
  // Generous: the machine is shared; unbounded inputs take minutes or exhaust memory.
  expect(ms).toBeLessThan(5000);
  expect(program.decls).toEqual([]);
  return { codes: diagnostics.map((d) => d.code), messages: diagnostics.map((d) => `${d.span.start.line}:${d.span.start.col}: ${d.message}`) };
}

describe('hostile YAML', { timeout: 20_000 }, () => {
  it('an alias bomb (a billion laughs) is refused at the first alias', () => {
    const rows = ['scion: 1', 'a: &a [x, x, x, x, x, x, x, x, x]'];
    const names = 'abcdefghij';
    for (let i = 1; i < 10; i++)
      rows.push(
        `${names[i]}: &${names[i]} [${Array(9)
          .fill(`*${names[i - 1]}`)
          .join(', ')}]`,
      );
    const { codes, messages } = timedCodes(`${rows.join('\n')}\n`);
    expect(codes).toEqual(['E0204']);
    expect(messages[0]).toBe(`3:8: aliases expand to more than ${YAML_LIMITS.maxAliasCount} nodes (an alias bomb?)`);
  });

  it('a few aliases are fine', () => {
    const text = 'scion: 1\ndecls:\n  - let: a\n    value: &v 3\n  - let: b\n    value: *v\n';
    const { program, diagnostics } = loadYaml(text, 'ok.yaml');
    expect(diagnostics).toEqual([]);
    expect(program.decls.map((d) => (d.kind === 'binding' && d.value.kind === 'num' ? d.value.value : undefined))).toEqual([3, 3]);
  });

  it('deep flow nesting is refused before the reader recurses', () => {
    const deep = `scion: 1\ndecls: ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}\n`;
    const { codes, messages } = timedCodes(deep.slice(0, YAML_LIMITS.maxBytes - 10));
    expect(codes).toEqual(['E0203']);
    // The 65th `[`: `decls: ` takes 7 columns, so it is at column 8 + 64.
    expect(messages[0]).toBe(`2:72: brackets nest more than ${YAML_LIMITS.maxDepth} levels deep`);
  });

  it('brackets inside strings and expressions do not count as nesting', () => {
    const text = `scion: 1\ndecls:\n  - let: a\n    value: '"${'['.repeat(100)}"'\n  - let: b\n    value: x[1][2]\n`;
    const { diagnostics } = loadYaml(text, 'ok.yaml');
    expect(diagnostics.map((d) => d.code)).not.toContain('E0203');
  });

  it('deep block nesting by indentation is refused', () => {
    const rows = ['scion: 1'];
    for (let i = 0; i < 200; i++) rows.push(`${' '.repeat(i)}k${i}:`);
    const { codes } = timedCodes(`${rows.join('\n')}\n`);
    expect(codes).toEqual(['E0203']);
  });

  it('deep block nesting on one line (`- - - …`) is refused', () => {
    const { codes, messages } = timedCodes(`scion: 1\ndecls:\n${'- '.repeat(100_000)}x\n`);
    expect(codes).toEqual(['E0203']);
    expect(messages[0]).toBe(`3:129: this line nests more than ${YAML_LIMITS.maxIndent} columns deep`);
  });

  it('a huge scalar is refused', () => {
    const { codes, messages } = timedCodes(`scion: 1\ndecls:\n  - let: a\n    value: ${'x'.repeat(YAML_LIMITS.maxToken + 1)}\n`);
    expect(codes).toEqual(['E0202']);
    expect(messages[0]).toBe(`4:12: a scalar or comment of ${YAML_LIMITS.maxToken + 1} characters; the limit is ${YAML_LIMITS.maxToken}`);
  });

  it('a huge document is refused without being read', () => {
    const big = `scion: 1\n${'# padding\n'.repeat(110_000)}`;
    const { codes, messages } = timedCodes(big);
    expect(codes).toEqual(['E0202']);
    expect(messages[0]).toBe(`1:1: the YAML spec is ${big.length} bytes; the limit is ${YAML_LIMITS.maxBytes} (1 MiB)`);
  });

  it('multi-byte text counts in bytes', () => {
    // 400k three-byte characters: 400k UTF-16 units but 1.2 MB.
    const { codes } = timedCodes(`scion: 1\n# ${'€'.repeat(400_000)}\n`);
    expect(codes).toEqual(['E0202']);
  });

  it('several documents are refused', () => {
    const { codes, messages } = timedCodes('scion: 1\n---\nscion: 1\n');
    expect(codes).toEqual(['E0205']);
    expect(messages[0]).toBe('2:1: a YAML spec is one document; a second one starts here (2 in all)');
  });

  it.each([
    ['a standard tag', 'scion: 1\ndecls:\n  - let: a\n    value: !!binary aGVsbG8=\n', '4:12: the tag `!!binary` is not part of the YAML form'],
    ['a custom tag', 'scion: 1\ndecls:\n  - let: a\n    value: !js/function "x"\n', '4:12: Unresolved tag: !js/function'],
    ['a tag on a collection', 'scion: 1\ndecls: !!set {a}\n', '2:8: the tag `!!set` is not part of the YAML form'],
    ['a directive', '%YAML 1.1\n---\nscion: 1\n', '1:1: directives (`%YAML`, `%TAG`) are not part of the YAML form'],
  ])('%s is refused', (_name, text, message) => {
    const { codes, messages } = timedCodes(text);
    expect(codes).toEqual(['E0206']);
    expect(messages[0]).toBe(message);
  });

  it('never throws, whatever the text', () => {
    const yamlish = fc
      .array(
        fc.constantFrom(
          'scion: 1\n',
          'decls:\n',
          '  - ',
          'let: ',
          'value: ',
          'x',
          '[',
          ']',
          '{',
          '}',
          ',',
          '&a ',
          '*a',
          '!!str ',
          '"',
          "'",
          '#',
          '\n',
          ' ',
          ':',
          '-',
          '2k',
          '(',
          ')',
          '%YAML 1.2\n',
          '---\n',
        ),
        { maxLength: 60 },
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.oneof(yamlish, fc.string({ maxLength: 80 })), (text) => {
        const r = loadYaml(text, 'f.yaml');
        expect(Array.isArray(r.diagnostics)).toBe(true);
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});

describe('numbers no value can be (issue 19)', { timeout: 20_000 }, () => {
  const spec = (dim: string): string => `scion: 1\ndecls:\n  - model: M\n    params: {dim: ${dim}}\n    body:\n      - input: x\n        type: f32[2, dim]\n`;
  it.each([
    ['.nan', 'NaN (.nan)'],
    ['.NaN', 'NaN (.NaN)'],
    ['.inf', 'infinity (.inf)'],
    ['+.inf', 'infinity (+.inf)'],
    ['-.inf', 'minus infinity (-.inf)'],
    ['1e400', '1e400, which is too large: a number is at most about 1.8e308 (a double)'],
    ['-1e400', '-1e400, which is too large in magnitude: a number is at most about 1.8e308 (a double)'],
  ])('%s is named as such at its place, and nothing else is reported', (dim, found) => {
    const { codes, messages } = timedCodes(spec(dim));
    expect(codes).toEqual(['E0208']);
    // `    params: {dim: ` is 18 columns.
    expect(messages).toEqual([`4:19: \`dim\`: expected a finite number, found ${found}`]);
  });

  it('inside lists and maps, labelled by the nearest key and index', () => {
    const { messages } = timedCodes('scion: 1\ndecls:\n  - let: x\n    value: [1, .nan, {a: [2, .inf]}]\n');
    expect(messages).toEqual(['4:16: `value[1]`: expected a finite number, found NaN (.nan)', '4:30: `a[1]`: expected a finite number, found infinity (.inf)']);
  });

  it('an integer past 2^53 - 1 where an integer is expected says so (not "found the integer")', () => {
    const text =
      'scion: 1\ndecls:\n  - model: M\n    body:\n      - input: x\n        type: f32[2, 4]\n      - output: y\n        value: Linear(x, 3)\n  - train: M\n    steps: 9007199254740993\n';
    const r = checkSource(text, 's.yaml', () => undefined);
    expect(r.diagnostics.filter((d) => d.code === 'E0411').map((d) => `${d.span.start.line}:${d.span.start.col}: ${d.message}`)).toEqual([
      '10:12: field `steps`: 9007199254740993 is beyond the exact integers (magnitude at most 2^53 - 1 = 9007199254740991); use a smaller value',
    ]);
  });
});

describe('large maps (issue 19)', { timeout: 30_000 }, () => {
  const keys = (n: number, dup?: number): string =>
    `scion: 1\ndecls:\n  - let: r\n    value:\n${Array.from({ length: n }, (_, i) => `      k${dup === i ? 0 : i}: ${i % 10}`).join('\n')}\n`;

  it('20,000 keys read in one pass (duplicate keys are found without comparing every pair)', () => {
    const { program, diagnostics } = loadYaml(keys(20_000), 'k.yaml');
    expect(diagnostics).toEqual([]);
    const value = program.decls[0]?.kind === 'binding' ? program.decls[0].value : undefined;
    expect(value?.kind === 'record' ? value.fields.length : 0).toBe(20_000);
  });

  it('a duplicate among them is E0201 at the second, naming the first line', () => {
    const { codes, messages } = timedCodes(keys(20_000, 15_000));
    expect(codes).toEqual(['E0201']);
    // Key k0 is on line 5; the 15,000th key (index 15000) on line 15005.
    expect(messages).toEqual(['15005:7: the key `k0` is set twice in this map (first on line 5)']);
  });

  it('more values than the document may have is E0204 naming the limit', () => {
    const many = `scion: 1\ndecls:\n  - let: r\n    value: {${Array.from({ length: 100_000 }, (_, i) => `k${i.toString(36)}: 0`).join(', ')}}\n`;
    // 100k keys take seconds to read on a loaded machine: the describe's timeout is the bound here.
    const { diagnostics } = loadYaml(many, 'h.yaml');
    expect(diagnostics.map((d) => d.code)).toEqual(['E0204']);
    expect(diagnostics.map((d) => `${d.span.start.line}:${d.span.start.col}: ${d.message}`)).toEqual([
      `1:1: the document has, or its aliases expand to, more than ${YAML_LIMITS.maxNodes} values; a spec never needs that many`,
    ]);
  });
});
