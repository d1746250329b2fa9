// The docs name what the code has: every command of `scion` in README's command table, every
// environment variable the source reads in docs/debugging.md's table. The expectation comes from
// the code itself (COMMANDS, a scan of the sources), so a new command or switch fails here until
// it is written down.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/main.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCE_DIRS = ['backends', 'bench', 'bin', 'cli', 'compiler', 'grammar', 'jobs', 'playground', 'runtime', 'test', 'tools'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|mjs|js)$/.test(name) ? [path] : [];
  });
}

/** Names read as `env.NAME`, `env['NAME']` or `env?.['NAME']` (process.env or an alias of it). */
function envReads(text: string): string[] {
  const names = [...text.matchAll(/\benv(?:\?\.|\.)?(?:\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]|([A-Z][A-Z0-9_]*)\b)/g)].map((m) => m[1] ?? m[2]);
  return names.filter((n): n is string => n !== undefined);
}

describe('README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Commands'), readme.indexOf('\n## ', readme.indexOf('## Commands') + 1));
  it.each(Object.keys(COMMANDS))('lists `scion %s` in its command table', (name) => {
    expect(table).toMatch(new RegExp(`^\\| \`scion ${name}[ \`]`, 'm'));
  });
});

describe('docs/debugging.md', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'debugging.md'), 'utf8');
  const listed = new Set([...doc.matchAll(/^\| `([A-Z][A-Z0-9_]*)/gm)].map((m) => m[1]));
  const read = new Map<string, string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      if (file.endsWith('docs.test.ts')) continue;
      for (const name of envReads(readFileSync(file, 'utf8'))) read.set(name, file.slice(ROOT.length + 1));
    }
  }

  it('finds the switches it knows are there (the scan works)', () => {
    expect([...read.keys()]).toEqual(expect.arrayContaining(['SCION_DUMP_IR', 'SCION_TUNE', 'CI']));
  });
  it('lists every environment variable the source reads', () => {
    const unlisted = [...read].filter(([name]) => !listed.has(name)).map(([name, file]) => `${name} (read in ${file})`);
    expect(unlisted).toEqual([]);
  });
  it('lists no variable the source does not read', () => {
    expect([...listed].filter((name) => name !== undefined && !read.has(name))).toEqual([]);
  });
});
