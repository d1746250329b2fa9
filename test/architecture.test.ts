// Imports run one way: grammar ← compiler ← runtime (types only) ← backends ← jobs ← cli (and
// lsp/, the language server, and playground/, the browser playground: peers of cli/). A browser runtime must load without the compiler,
// and the grammar must load without either; a backend is reached through backends/registry.ts,
// never by a job naming its internals.

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
  it('backends import nothing of jobs or the cli', () => {
    expect(edges('backends').filter((e) => e.to === 'jobs' || e.to === 'cli')).toEqual([]);
  });
  it('jobs import nothing of the cli', () => {
    expect(edges('jobs').filter((e) => e.to === 'cli' || e.to === 'lsp')).toEqual([]);
  });
  it('the language server (a peer of the cli) imports nothing of the cli, and nothing below it imports the server', () => {
    expect(edges('lsp').filter((e) => e.to === 'cli')).toEqual([]);
    const below = ['grammar', 'compiler', 'runtime', 'backends', 'jobs', 'bench'].flatMap((d) => edges(d));
    expect(below.filter((e) => e.to === 'lsp')).toEqual([]);
  });
  it('the playground (a peer of the cli) imports nothing of the cli or the language server, and nothing below it imports the playground', () => {
    expect(edges('playground').filter((e) => e.to === 'cli' || e.to === 'lsp')).toEqual([]);
    const below = ['grammar', 'compiler', 'runtime', 'backends', 'jobs', 'bench', 'lsp'].flatMap((d) => edges(d));
    expect(below.filter((e) => e.to === 'playground')).toEqual([]);
  });
  it('runtime imports nothing of backends', () => {
    expect(edges('runtime').filter((e) => e.to === 'backends')).toEqual([]);
  });
});

/** Static imports of one file that load code (not `import type`, not only `type` names), as absolute paths. */
function valueImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s+'([^']+)'/gm)) {
    const [, , typeKw, names, spec] = m as unknown as [string, string, string | undefined, string, string];
    if (typeKw !== undefined || !spec.startsWith('.')) continue;
    const braced = /^\{([^}]*)\}$/s.exec(names.trim());
    if (braced !== null) {
      const items = (braced[1] as string)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (items.length > 0 && items.every((s) => s.startsWith('type '))) continue;
    }
    out.push(resolve(dirname(file), spec));
  }
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) if ((m[1] as string).startsWith('.')) out.push(resolve(dirname(file), m[1] as string));
  return out;
}

/** Strongly connected components with more than one file (or a file importing itself): Tarjan. */
function importCycles(files: readonly string[]): string[][] {
  const graph = new Map(files.map((f) => [f, valueImports(f)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      for (;;) {
        const w = stack.pop()!;
        onStack.delete(w);
        scc.push(relative(ROOT, w));
        if (w === v) break;
      }
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return cycles;
}

describe('module structure', () => {
  it('no command imports another command (shared pieces live in cli/*.ts or jobs/)', () => {
    const commands = join(ROOT, 'cli', 'commands');
    const crossing = tsFiles(commands).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/from\s+'(\.[^']*)'/g)]
        .map((m) => resolve(dirname(f), m[1] as string))
        .filter((t) => dirname(t) === commands)
        .map((t) => `${relative(ROOT, f)} → ${relative(ROOT, t)}`),
    );
    expect(crossing).toEqual([]);
  });
  it('nothing under bench/ imports cli/', () => {
    expect(edges('bench').filter((e) => e.to === 'cli')).toEqual([]);
  });
  it('no value-import cycles among source files', () => {
    const files = ['grammar', 'compiler', 'runtime', 'backends', 'jobs', 'cli', 'lsp', 'playground', 'bench'].flatMap((d) => tsFiles(join(ROOT, d)));
    expect(importCycles(files)).toEqual([]);
  });
  it('the cycle finder finds a planted cycle (it can fail)', () => {
    const dir = join(ROOT, 'test', 'fixtures', 'import-cycle');
    expect(importCycles(tsFiles(dir))).toEqual([['test/fixtures/import-cycle/a.ts', 'test/fixtures/import-cycle/b.ts']]);
  });
});
