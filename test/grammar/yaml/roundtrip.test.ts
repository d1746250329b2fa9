// The YAML form says exactly what a .scion file says: for every example spec (and a fixture with
// a comment in every place one can go), .scion → YAML → AST is the parsed AST, and formatting it
// gives the canonical .scion text. The committed YAML twins and the JSON Schema are up to date.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Program } from '../../../grammar/ast.ts';
import { stripSpans } from '../../../grammar/ast-utils.ts';
import { formatProgram } from '../../../grammar/dsl/format.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import { loadSource } from '../../../grammar/load.ts';
import { loadYaml } from '../../../grammar/yaml/load.ts';
import { printYaml } from '../../../grammar/yaml/print.ts';
import { schemaText } from '../../../grammar/yaml/schema.ts';
import { SCHEMA_FILE } from '../../../grammar/yaml/write-schema.ts';
import { SPECS_DIR, TWINS_DIR, exampleSpecs, twinText } from '../../../grammar/yaml/write-twins.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures');

function parseScion(path: string, file: string): Program {
  const { program, diagnostics } = parseProgram(readFileSync(path, 'utf8'), file);
  expect(diagnostics).toEqual([]);
  return program;
}

/** The AST without spans or the file name, which differ between the two forms by design. */
const shape = (p: Program): unknown => stripSpans({ ...p, file: '' });

function viaYaml(p: Program): Program {
  const { program, diagnostics } = loadYaml(printYaml(p), 'x.yaml');
  expect(diagnostics).toEqual([]);
  return program;
}

const SOURCES = [
  ...exampleSpecs().map((name) => ({ name: `specs/${name}.scion`, path: join(SPECS_DIR, `${name}.scion`) })),
  { name: 'fixtures/comments.scion', path: join(FIXTURES, 'comments.scion') },
];

describe('.scion → YAML → AST', () => {
  it('covers every example spec', () => {
    expect(exampleSpecs()).toEqual(['a-sdm', 'ba-lora', 'default', 'lit', 'mnist-classifier', 'tiny-lm']);
  });

  it.each(SOURCES)('$name: the same AST, and formatProgram gives the canonical text', ({ name, path }) => {
    const original = parseScion(path, name);
    const back = viaYaml(original);
    expect(shape(back)).toEqual(shape(original));
    expect(formatProgram(back)).toBe(formatProgram(original));
  });

  it('prints deterministically, with the modeline and the version first', () => {
    const p = parseScion(join(SPECS_DIR, 'tiny-lm.scion'), 'tiny-lm.scion');
    const text = printYaml(p);
    expect(printYaml(p)).toBe(text);
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/scion.schema.json');
    expect(text).toMatch(/\n\nscion: 1\n/);
    // YAML → YAML is a fixed point too.
    expect(printYaml(viaYaml(p))).toBe(text);
  });

  it('keeps comments where the fixture has them', () => {
    const back = viaYaml(parseScion(join(FIXTURES, 'comments.scion'), 'comments.scion'));
    expect(back.header).toEqual(['header one', 'header two']);
    expect(back.imports.map((i) => [i.leading, i.trailing])).toEqual([
      [undefined, 'trail import a'],
      [['lead import b'], undefined],
    ]);
    expect(back.decls[0]).toMatchObject({ kind: 'layer', leading: ['lead layer'], trailing: 'trail layer' });
    const prune = back.decls.find((d) => d.kind === 'prune');
    expect(prune).toMatchObject({ fields: [{ key: 'channels', leading: ['lead field'], trailing: 'trail field' }, { key: 'seed' }] });
    expect(back.trailingComments).toEqual(['final one', 'final two']);
  });

  it('keeps the spelling of numbers and the kind of every literal', () => {
    const yaml = printYaml(parseProgram('let a = 3e-4\nlet b = 1.0\nlet c = 2k\nlet d = -1.5e3\nlet e = true\nlet f = "s"\n', 'n.scion').program);
    expect(yaml).toContain('value: 3e-4\n');
    expect(yaml).toContain('value: 1.0\n');
    expect(yaml).toContain('value: 2k\n');
    expect(yaml).toContain('value: -1.5e3\n');
    expect(yaml).toContain('value: true\n');
    expect(yaml).toContain(`value: '"s"'\n`);
    const values = loadYaml(yaml, 'n.yaml').program.decls.map((d) => (d.kind === 'binding' ? stripSpans(d.value) : undefined));
    expect(values.slice(0, 3)).toEqual([
      { kind: 'num', value: 3e-4, text: '3e-4', isInt: false },
      { kind: 'num', value: 1, text: '1.0', isInt: false },
      { kind: 'num', value: 2000, text: '2k', isInt: true },
    ]);
    expect(values[4]).toEqual({ kind: 'bool', value: true });
    expect(values[5]).toEqual({ kind: 'str', value: 's' });
  });
});

describe('committed files', () => {
  it('schema/scion.schema.json is what grammar/yaml/schema.ts generates (npm run schema)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(schemaText());
  });

  it.each(exampleSpecs())('specs/yaml/%s.yaml is up to date (grammar/yaml/write-twins.ts)', (name) => {
    expect(readFileSync(join(TWINS_DIR, `${name}.yaml`), 'utf8')).toBe(twinText(name));
  });

  it.each(exampleSpecs())('specs/yaml/%s.yaml loads to the AST of specs/%s.scion', (name) => {
    const original = parseScion(join(SPECS_DIR, `${name}.scion`), `${name}.scion`);
    const file = `specs/yaml/${name}.yaml`;
    const { program, diagnostics } = loadSource(readFileSync(join(TWINS_DIR, `${name}.yaml`), 'utf8'), file);
    expect(diagnostics).toEqual([]);
    // The twins import each other: the only difference is the imported file's extension.
    const expected = { ...original, imports: original.imports.map((i) => ({ ...i, path: { ...i.path, value: i.path.value.replace(/\.scion$/, '.yaml') } })) };
    expect(shape(program)).toEqual(shape(expected));
  });
});
