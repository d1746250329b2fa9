// Imports run one way: grammar ← compiler ← runtime (types only) ← jobs ← cli. A browser runtime
// must load without the compiler, and the grammar must load without either.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

interface Edge {
  from: string;
  to: string; // top-level folder of the imported file
  typeOnly: boolean;
}

function edges(folder: string): Edge[] {
  const out: Edge[] = [];
  for (const file of tsFiles(join(ROOT, folder))) {
    const text = readFileSync(file, 'utf8');
    const found = [
      ...[...text.matchAll(/^\s*(import|export)\s+(type\s+)?[^;'"]*?from\s+'([^']+)'/gm)].map((m) => ({ spec: m[3] as string, typeOnly: m[2] !== undefined })),
      ...[...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((m) => ({ spec: m[1] as string, typeOnly: false })),
    ];
    for (const { spec, typeOnly } of found) {
      if (!spec.startsWith('.')) continue;
      const target = relative(ROOT, resolve(dirname(file), spec)).split('/')[0] as string;
      out.push({ from: relative(ROOT, file), to: target, typeOnly });
    }
  }
  return out;
}

describe('import direction', () => {
  it('grammar imports nothing of the compiler, runtime, jobs or cli', () => {
    expect(edges('grammar').filter((e) => ['compiler', 'runtime', 'jobs', 'cli'].includes(e.to))).toEqual([]);
  });
  it('compiler imports nothing of the runtime, jobs or cli', () => {
    expect(edges('compiler').filter((e) => ['runtime', 'jobs', 'cli'].includes(e.to))).toEqual([]);
  });
  it('runtime imports only types from the compiler, and nothing of jobs or cli', () => {
    expect(edges('runtime').filter((e) => (e.to === 'compiler' && !e.typeOnly) || e.to === 'jobs' || e.to === 'cli' || e.to === 'grammar')).toEqual([]);
  });
  it('jobs import nothing of the cli', () => {
    expect(edges('jobs').filter((e) => e.to === 'cli')).toEqual([]);
  });
});
