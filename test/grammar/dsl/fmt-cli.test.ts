// `scion fmt`: prints, checks and rewrites; parse errors print located diagnostics and exit 1.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { captureIo } from '../../cli/capture-io.ts';

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'scion-fmt-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const MESSY = 'train  M{steps=2k;batch = 16}\n';
const CANONICAL = 'train M {\n  steps = 2k\n  batch = 16\n}\n';

describe('scion fmt', () => {
  it('prints the canonical form', async () => {
    const io = captureIo(workspace({ 'a.scion': MESSY }));
    expect(await main(['fmt', 'a.scion'], io)).toBe(0);
    expect(io.stdout).toBe(CANONICAL);
  });

  it('--check exits 1 and names unformatted files, 0 when all are canonical', async () => {
    const dir = workspace({ 'a.scion': MESSY, 'b.scion': CANONICAL });
    const io = captureIo(dir);
    expect(await main(['fmt', '--check', 'a.scion', 'b.scion'], io)).toBe(1);
    expect(io.stdout).toBe('a.scion: not formatted\n');
    expect(await main(['fmt', '--check', 'b.scion'], captureIo(dir))).toBe(0);
  });

  it('--write rewrites the file in place', async () => {
    const dir = workspace({ 'a.scion': MESSY });
    expect(await main(['fmt', '--write', 'a.scion'], captureIo(dir))).toBe(0);
    expect(readFileSync(join(dir, 'a.scion'), 'utf8')).toBe(CANONICAL);
  });

  it('parse errors: located diagnostics, exit 1, the file untouched', async () => {
    const bad = 'train M {\n  steps 2\n}\n';
    const dir = workspace({ 'bad.scion': bad });
    const io = captureIo(dir);
    expect(await main(['fmt', '--write', 'bad.scion'], io)).toBe(1);
    expect(io.stderr).toContain('bad.scion:2:9: error[E0103]: expected `=`, found `2`');
    expect(readFileSync(join(dir, 'bad.scion'), 'utf8')).toBe(bad);
  });

  it('--json reports per file', async () => {
    // `let = `: no name (recovery inserts one), then no expression at the end.
    const dir = workspace({ 'a.scion': MESSY, 'bad.scion': 'let = ' });
    const io = captureIo(dir);
    expect(await main(['fmt', '--check', '--json', 'a.scion', 'bad.scion'], io)).toBe(1);
    const json = JSON.parse(io.stdout) as {
      files: { file: string; formatted: boolean | null; diagnostics: { code: string; line: number; column: number }[] }[];
    };
    expect(json.files.map((f) => [f.file, f.formatted, f.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`)])).toEqual([
      ['a.scion', false, []],
      ['bad.scion', null, ['E0103@1:5', 'E0103@1:6']],
    ]);
  });

  it('usage errors exit 2', async () => {
    expect(await main(['fmt'], captureIo(tmpdir()))).toBe(2);
    expect(await main(['fmt', '--bogus', 'x'], captureIo(tmpdir()))).toBe(2);
    expect(await main(['fmt', 'no-such-file.scion'], captureIo(tmpdir()))).toBe(2);
  });
});
