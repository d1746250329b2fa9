// Every example spec checks clean through the CLI (exit 0, no diagnostics at all), and the
// generated diagnostics reference is up to date with the catalog.

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../../../cli/commands/check.ts';
import { captureIo } from '../../cli/capture-io.ts';
import { DIAGNOSTICS } from '../../../grammar/diagnostics/catalog.ts';
import { DOCS_PATH, diagnosticsMarkdown } from '../../../grammar/diagnostics/write-docs.ts';
import { missingParamNames } from '../../../grammar/library/param-names.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SPECS = readdirSync(`${ROOT}specs`)
  .filter((f) => f.endsWith('.scion') || f.endsWith('.yaml'))
  .sort();

describe('example specs', () => {
  it.each(SPECS)('specs/%s checks clean', async (file) => {
    const io = captureIo(ROOT);
    const code = await run([`specs/${file}`, '--json'], io);
    const out = JSON.parse(io.stdout) as { diagnostics: unknown[]; errors: number; warnings: number };
    expect(out.diagnostics).toEqual([]);
    expect(code).toBe(0);
  });

  it('all of them at once, as text', async () => {
    const io = captureIo(ROOT);
    expect(
      await run(
        SPECS.map((f) => `specs/${f}`),
        io,
      ),
    ).toBe(0);
    expect(io.stdout).toMatch(/: no problems\n$/);
  });
});

describe('command line', () => {
  it('usage errors exit 2', async () => {
    await expect(run([], captureIo(ROOT))).rejects.toThrow(/no file given/);
    await expect(run(['--frobnicate', 'x.scion'], captureIo(ROOT))).rejects.toThrow(/unknown option/);
  });

  it('a missing file is an input error with valid JSON', async () => {
    const io = captureIo(ROOT);
    expect(await run(['specs/nope.scion', '--json'], io)).toBe(1);
    expect(JSON.parse(io.stdout)).toMatchObject({ missing: ['specs/nope.scion'], errors: 1 });
  });

  it('errors exit 1 and are counted in JSON', async () => {
    const io = captureIo(ROOT);
    expect(await run(['test/golden/diagnostics/many-errors.scion', '--json'], io)).toBe(1);
    const out = JSON.parse(io.stdout) as { diagnostics: { code: string; line: number }[]; errors: number };
    expect(out.errors).toBe(4);
    expect(out.diagnostics.map((d) => [d.code, d.line])).toEqual([
      ['E0501', 3],
      ['E0301', 7],
      ['E0301', 9],
      ['E0310', 14],
    ]);
  });

  it('warnings alone exit 0', async () => {
    const io = captureIo(ROOT);
    expect(await run(['test/golden/diagnostics/w0001-unused-let.scion'], io)).toBe(0);
    expect(io.stdout).toContain('warning[W0001]');
  });
});

describe('catalog', () => {
  it('docs/diagnostics.md is generated from the catalog (run grammar/diagnostics/write-docs.ts)', () => {
    expect(readFileSync(DOCS_PATH, 'utf8')).toBe(diagnosticsMarkdown());
  });

  it('every code has a title and a doc sentence', () => {
    for (const [code, info] of Object.entries(DIAGNOSTICS)) {
      expect(code).toMatch(/^[EW]\d{4}$/);
      expect(info.title.length, code).toBeGreaterThan(3);
      expect(info.doc, code).toMatch(/\.$/);
    }
  });

  it('every library layer has a parameter-name entry', () => {
    expect(missingParamNames()).toEqual([]);
  });
});
