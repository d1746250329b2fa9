// Mutation fuzzing of `scion check --json`: delete, duplicate or replace one token or character
// of each example spec. The command must never throw, must exit 0 or 1 with valid JSON whose
// positions all lie inside their files, and for at least 90% of the mutants that have errors,
// one diagnostic must lie within two lines of the mutation (errors are reported where they are).

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../../cli/commands/check.ts';
import type { JsonDiagnostic } from '../../../grammar/diagnostics/render.ts';
import { captureIo } from '../../cli/capture-io.ts';

const SPEC_DIR = fileURLToPath(new URL('../../../specs/', import.meta.url));
const SPECS = readdirSync(SPEC_DIR)
  .filter((f) => f.endsWith('.scion'))
  .sort();
const RUNS_PER_SPEC = 40;

// A rough tokenizer, independent of the real lexer: comments, strings, names, numbers, operators.
const TOKEN = /\/\/[^\n]*|"[^"\n]*"|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?[kKMG]?|\.\.|[=!<>]=|&&|\|\||\*\*|\S/g;

interface Mutant {
  text: string;
  /** Offset in the mutant where the change is. */
  at: number;
  what: string;
}

function tokens(text: string): { start: number; end: number }[] {
  return [...text.matchAll(TOKEN)].map((m) => ({ start: m.index, end: m.index + m[0].length }));
}

function mutantArb(text: string): fc.Arbitrary<Mutant> {
  const toks = tokens(text);
  const tok = fc.integer({ min: 0, max: toks.length - 1 }).map((i) => toks[i]!);
  const pos = fc.integer({ min: 0, max: text.length - 1 });
  const printable = fc.constantFrom(...'abcxyz_019.,:;=+-*/%()[]{}"<>!&| \n\t#@'.split(''));
  return fc.oneof(
    tok.map((t) => ({ text: text.slice(0, t.start) + text.slice(t.end), at: t.start, what: `delete token ${JSON.stringify(text.slice(t.start, t.end))}` })),
    tok.map((t) => ({
      text: text.slice(0, t.end) + ' ' + text.slice(t.start),
      at: t.end,
      what: `duplicate token ${JSON.stringify(text.slice(t.start, t.end))}`,
    })),
    fc.tuple(tok, tok).map(([t, u]) => ({
      text: text.slice(0, t.start) + text.slice(u.start, u.end) + text.slice(t.end),
      at: t.start,
      what: `replace ${JSON.stringify(text.slice(t.start, t.end))} by ${JSON.stringify(text.slice(u.start, u.end))}`,
    })),
    pos.map((p) => ({ text: text.slice(0, p) + text.slice(p + 1), at: p, what: `delete char ${JSON.stringify(text[p])}` })),
    pos.map((p) => ({ text: text.slice(0, p + 1) + text.slice(p), at: p, what: `duplicate char ${JSON.stringify(text[p])}` })),
    fc
      .tuple(pos, printable)
      .map(([p, c]) => ({ text: text.slice(0, p) + c + text.slice(p + 1), at: p, what: `replace char ${JSON.stringify(text[p])} by ${JSON.stringify(c)}` })),
  );
}

const lineAt = (text: string, offset: number): number => text.slice(0, offset).split('\n').length;

const dir = mkdtempSync(join(tmpdir(), 'scion-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// Imports resolve next to the mutant: every spec is there, unmutated.
for (const f of SPECS) writeFileSync(join(dir, f), readFileSync(join(SPEC_DIR, f), 'utf8'));

interface Outcome {
  code: number;
  diagnostics: JsonDiagnostic[];
}

async function checkMutant(name: string, text: string): Promise<Outcome> {
  writeFileSync(join(dir, name), text);
  const io = captureIo(dir);
  const code = await run([name, '--json'], io);
  const out = JSON.parse(io.stdout) as { diagnostics: JsonDiagnostic[]; errors: number };
  expect([0, 1]).toContain(code);
  expect(code === 1).toBe(out.errors > 0);
  for (const d of out.diagnostics) {
    const src = d.file === name ? text : readFileSync(join(dir, d.file), 'utf8');
    const lines = src.split('\n');
    expect(d.line, `${d.code} ${d.message}`).toBeGreaterThanOrEqual(1);
    expect(d.line).toBeLessThanOrEqual(lines.length);
    expect(d.column).toBeGreaterThanOrEqual(1);
    expect(d.column).toBeLessThanOrEqual(lines[d.line - 1]!.length + 1);
    expect(d.endLine).toBeGreaterThanOrEqual(d.line);
    expect(d.endLine).toBeLessThanOrEqual(lines.length);
  }
  return { code, diagnostics: out.diagnostics };
}

describe('mutation fuzz of scion check --json', () => {
  const stats = { invalid: 0, near: 0, far: [] as string[] };

  it.each(SPECS)('mutants of %s', async (spec) => {
    const text = readFileSync(join(SPEC_DIR, spec), 'utf8');
    const name = `mutant-${spec}`;
    const samples = fc.sample(mutantArb(text), { numRuns: RUNS_PER_SPEC, seed: 20240611 });
    for (const m of samples) {
      const out = await checkMutant(name, m.text);
      if (out.code !== 1) continue;
      stats.invalid++;
      const line = lineAt(m.text, m.at);
      const near = out.diagnostics.some((d) => d.file === name && d.severity === 'error' && d.line - 2 <= line && line <= d.endLine + 2);
      if (near) stats.near++;
      else stats.far.push(`${spec}:${line} ${m.what} → ${out.diagnostics.map((d) => `${d.code}@${d.line}`).join(' ')}`);
    }
  });

  it('reports at least 90% of invalid mutants within two lines of the mutation', () => {
    expect(stats.invalid).toBeGreaterThan(100);
    const ratio = stats.near / stats.invalid;
    if (ratio < 0.9) console.log(`invalid mutants: ${stats.invalid}, near: ${(ratio * 100).toFixed(1)}%\n${stats.far.join('\n')}`);
    expect(ratio).toBeGreaterThanOrEqual(0.9);
  });

  it('never throws on arbitrary mutants (property)', async () => {
    const text = readFileSync(join(SPEC_DIR, 'tiny-lm.scion'), 'utf8');
    await fc.assert(
      fc.asyncProperty(mutantArb(text), async (m) => void (await checkMutant('prop-tiny-lm.scion', m.text))),
      { numRuns: 60, seed: 7 },
    );
  });
});
