// Standard input as Unix tools have it (`-` for check, fmt and convert, named `<stdin>` in
// diagnostics) and `check --json`'s contract: {"ok", "diagnostics": [{"file", "line", "column",
// "endLine", "endColumn", "severity", "code", "message", …}]} with `file` exactly as given. Lines
// and columns are counted by hand from the texts below.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { captureIo } from './capture-io.ts';

const ROOT = join(import.meta.dirname, '..', '..');

// `bogus` starts at line 3, column 27 and ends (exclusive) at column 32.
const BAD = 'model M {\n  input x: f32[2, 4]\n  output y = Linear(x, 3, bogus = 1)\n}\n';
const GOOD = 'model M {\n  input x: f32[2, 4]\n  output y = Linear(x, 3)\n}\n';
const UGLY = 'model  M {input x: f32[2]\n output y = x}';
const CANONICAL = 'model M {\n  input x: f32[2]\n  output y = x\n}\n';

interface CheckJson {
  ok: boolean;
  diagnostics: { file: string; line: number; column: number; endLine: number; endColumn: number; severity: string; code: string; message: string }[];
}

describe('scion check --json', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scion-stdin-'));

  it('reads standard input for `-` and names it <stdin>, with the contract fields', async () => {
    const io = captureIo(dir, BAD);
    expect(await main(['check', '--json', '-'], io)).toBe(1);
    const out = JSON.parse(io.stdout) as CheckJson;
    expect(out.ok).toBe(false);
    expect(out.diagnostics).toHaveLength(1);
    expect(out.diagnostics[0]).toMatchObject({ file: '<stdin>', line: 3, column: 27, endLine: 3, endColumn: 32, severity: 'error', code: 'E0402' });
    expect(out.diagnostics[0]!.message).toContain('bogus');
    expect(Object.keys(out.diagnostics[0]!).slice(0, 8)).toEqual(['file', 'line', 'column', 'endLine', 'endColumn', 'severity', 'code', 'message']);
  });

  it('says ok for a clean spec, and names a file exactly as given (absolute stays absolute)', async () => {
    const good = join(dir, 'good.scion');
    const bad = join(dir, 'bad.scion');
    writeFileSync(good, GOOD);
    writeFileSync(bad, BAD);
    const ok = captureIo(dir);
    expect(await main(['check', '--json', good], ok)).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, diagnostics: [] });
    const abs = captureIo('/');
    expect(await main(['check', '--json', bad], abs)).toBe(1);
    expect((JSON.parse(abs.stdout) as CheckJson).diagnostics[0]!.file).toBe(bad);
    const rel = captureIo(dir);
    expect(await main(['check', '--json', './bad.scion'], rel)).toBe(1);
    expect((JSON.parse(rel.stdout) as CheckJson).diagnostics[0]!.file).toBe('./bad.scion');
  });

  it('reads YAML from standard input with --from yaml', async () => {
    const yaml = captureIo(dir);
    expect(await main(['convert', join(dir, 'good.scion'), '--to', 'yaml'], yaml)).toBe(0);
    const io = captureIo(dir, yaml.stdout);
    expect(await main(['check', '--json', '--from', 'yaml', '-'], io)).toBe(0);
    expect((JSON.parse(io.stdout) as CheckJson).ok).toBe(true);
    // The same YAML read as .scion is not a spec.
    const wrong = captureIo(dir, yaml.stdout);
    expect(await main(['check', '--json', '-'], wrong)).toBe(1);
  });

  it('reads the process standard input (bin/scion.mjs, piped)', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'scion.mjs'), 'check', '--json', '-'], { input: BAD, encoding: 'utf8', cwd: dir });
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as CheckJson;
    expect(out.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}`)).toEqual(['<stdin>:3:27']);
  });
});

describe('scion fmt -', () => {
  it('prints the canonical form of standard input', async () => {
    const io = captureIo('/', UGLY);
    expect(await main(['fmt', '-'], io)).toBe(0);
    expect(io.stdout).toBe(CANONICAL);
  });
  it('--check reports standard input as <stdin>; --write refuses it', async () => {
    const io = captureIo('/', UGLY);
    expect(await main(['fmt', '--check', '-'], io)).toBe(1);
    expect(io.stdout).toBe('<stdin>: not formatted\n');
    const w = captureIo('/', UGLY);
    expect(await main(['fmt', '--write', '-'], w)).toBe(2);
    expect(w.stderr).toContain('cannot rewrite standard input');
  });
  it('locates a parse error in standard input', async () => {
    const io = captureIo('/', 'model M {\n  input x f32[2]\n}\n');
    expect(await main(['fmt', '--json', '-'], io)).toBe(1);
    const out = JSON.parse(io.stdout) as { files: { file: string; diagnostics: { file: string; line: number }[] }[] };
    expect(out.files[0]!.file).toBe('<stdin>');
    expect(out.files[0]!.diagnostics[0]).toMatchObject({ file: '<stdin>', line: 2 });
  });
});

describe('scion convert -', () => {
  it('converts .scion from standard input to YAML and back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-convert-stdin-'));
    const toYaml = captureIo(dir, UGLY);
    expect(await main(['convert', '-', '--from', 'scion', '-o', 'out.yaml'], toYaml)).toBe(0);
    const yaml = readFileSync(join(dir, 'out.yaml'), 'utf8');
    expect(yaml).toContain('  - model: M\n');
    const back = captureIo(dir, yaml);
    expect(await main(['convert', '-', '--from', 'yaml'], back)).toBe(0);
    expect(back.stdout).toBe(CANONICAL);
  });
  it('needs --from for standard input, and says so', async () => {
    const io = captureIo('/', UGLY);
    expect(await main(['convert', '-'], io)).toBe(2);
    expect(io.stderr).toContain('--from scion or --from yaml');
    const bad = captureIo('/', UGLY);
    expect(await main(['convert', '-', '--from', 'json'], bad)).toBe(2);
    expect(bad.stderr).toContain("--from takes scion or yaml, not 'json'");
  });
  it('reports errors in standard input at <stdin> and writes nothing', async () => {
    const io = captureIo('/', 'model M {\n  input x f32[2]\n}\n');
    expect(await main(['convert', '-', '--from', 'scion'], io)).toBe(1);
    expect(io.stderr).toMatch(/^<stdin>:2:/m);
    expect(io.stdout).toBe('');
  });
});
