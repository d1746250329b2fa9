// Golden tests of the exact text `scion check` shows: each test/golden/diagnostics/NAME.scion
// is checked and rendered, and compared with NAME.txt. `UPDATE_GOLDEN=1 npx vitest run
// test/grammar/check` rewrites the .txt files; review every change by eye — it is the user's view.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../../grammar/check/check-source.ts';
import { renderDiagnostics } from '../../../grammar/diagnostics/render.ts';

const DIR = fileURLToPath(new URL('../../golden/diagnostics/', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const read = (p: string): string | undefined => (existsSync(join(DIR, p)) ? readFileSync(join(DIR, p), 'utf8') : undefined);
const specs = readdirSync(DIR)
  .filter((f) => f.endsWith('.scion'))
  .sort();

function render(file: string): { text: string; codes: string[] } {
  const r = checkSource(read(file)!, file, read);
  return { text: renderDiagnostics(r.diagnostics, r.sources), codes: r.diagnostics.map((d) => d.code) };
}

describe('diagnostic goldens', () => {
  it.each(specs)('%s', (file) => {
    const { text } = render(file);
    const expectedPath = join(DIR, file.replace(/\.scion$/, '.txt'));
    if (UPDATE || !existsSync(expectedPath)) writeFileSync(expectedPath, text);
    expect(text).toBe(readFileSync(expectedPath, 'utf8'));
  });

  it('each file named after a code shows that code', () => {
    for (const file of specs) {
      const m = /^([ew]\d{4})-/.exec(file);
      if (m === null || file.includes('helper')) continue;
      expect(render(file).codes, file).toContain(m[1]!.toUpperCase());
    }
  });

  it('cover at least 40 distinct check codes', () => {
    const codes = new Set(specs.flatMap((f) => render(f).codes).filter((c) => /^(E0[3-7]|W)/.test(c)));
    expect(codes.size).toBeGreaterThanOrEqual(40);
  });
});
