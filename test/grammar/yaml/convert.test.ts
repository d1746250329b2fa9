// `scion convert` and `loadSource`: the extension picks the front end; .scion → YAML → .scion
// gives the canonical text; errors are located diagnostics with exit 1; nothing is written then.

import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { formatProgram } from '../../../grammar/dsl/format.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import { formOf, loadSource } from '../../../grammar/load.ts';
import { captureIo } from '../../cli/capture-io.ts';

const SPEC = '// a binding\nlet x = 2k // two thousand\n\ntrain M {\n  steps = 1e3\n  loss = mse(y, 0.5)\n}\n';

describe('loadSource', () => {
  it('dispatches on the extension', () => {
    expect([formOf('a.scion'), formOf('a.yaml'), formOf('a.YML'), formOf('a')]).toEqual(['scion', 'yaml', 'yaml', 'scion']);
    expect(loadSource('scion: 1\ndecls:\n  - let: x\n    value: 1\n', 'a.yml').program.decls[0]?.kind).toBe('binding');
    expect(loadSource('let x = 1\n', 'a.scion').program.decls[0]?.kind).toBe('binding');
    // The same text as YAML is not a YAML spec.
    expect(loadSource('let x = 1\n', 'a.yaml').diagnostics.map((d) => d.code)).toEqual(['E0210']);
  });
});

describe('scion convert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scion-convert-'));
  writeFileSync(join(dir, 'spec.scion'), SPEC);

  it('prints the YAML form, then converts it back to the canonical .scion text', async () => {
    const io = captureIo(dir);
    expect(await main(['convert', 'spec.scion', '-o', 'spec.yaml'], io)).toBe(0);
    const yaml = readFileSync(join(dir, 'spec.yaml'), 'utf8');
    expect(yaml).toContain('  - let: x # two thousand\n    value: 2k\n');
    const back = captureIo(dir);
    expect(await main(['convert', 'spec.yaml'], back)).toBe(0);
    expect(back.stdout).toBe(formatProgram(parseProgram(SPEC, 'spec.scion').program));
  });

  it('points the modeline at the schema from where the file is written', async () => {
    const io = captureIo(dir);
    expect(await main(['convert', 'spec.scion'], io)).toBe(0);
    const line = io.stdout.split('\n')[0]!;
    const schema = line.replace('# yaml-language-server: $schema=', '');
    expect(existsSync(join(dir, schema))).toBe(true);
  });

  it('--to overrides the default direction', async () => {
    const io = captureIo(dir);
    expect(await main(['convert', 'spec.scion', '--to', 'scion'], io)).toBe(0);
    expect(io.stdout).toBe(formatProgram(parseProgram(SPEC, 'spec.scion').program));
  });

  it('reports input errors as file:line:col diagnostics, exits 1 and writes nothing', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'scion: 1\ndecls:\n  - train: T\n    stesp: 3\n');
    const io = captureIo(dir);
    expect(await main(['convert', 'bad.yaml', '-o', 'bad.scion'], io)).toBe(1);
    expect(io.stderr.split('\n')[0]).toBe('bad.yaml:4:5: error[E0207]: unknown key `stesp` in a train declaration');
    expect(existsSync(join(dir, 'bad.scion'))).toBe(false);
  });

  it('refuses a .scion spec the YAML form cannot hold', async () => {
    writeFileSync(join(dir, 'dup.scion'), 'train T {\n  steps = 1\n  steps = 2\n}\n');
    const io = captureIo(dir);
    expect(await main(['convert', 'dup.scion'], io)).toBe(1);
    expect(io.stderr.split('\n')[0]).toBe('dup.scion:3:3: error[E0214]: field `steps` appears twice; a YAML map holds each key once');
  });

  it('usage errors exit 2', async () => {
    expect(await main(['convert'], captureIo(dir))).toBe(2);
    expect(await main(['convert', 'spec.scion', '--to', 'json'], captureIo(dir))).toBe(2);
  });
});
