// The page bundle, cached between starts: esbuild takes seconds on a busy machine, and the bundle
// only changes when one of its source files does. The cache file keeps the bundle with the list of
// files esbuild read for it; a start hashes those files (with esbuild's version) and reuses the
// bundle when the hash is the one stored. A file that is unreadable, of another version or stale
// is rebuilt and rewritten: it is only a cache.
//   <cacheDir>/playground-bundle.json = { version, key, inputs, js }   (cacheDir as the autotune store's)

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { version as esbuildVersion } from 'esbuild';
import type { PageBundle } from './server.ts';

const VERSION = 1;

interface CacheFile extends PageBundle {
  version: number;
  key: string;
}

/** The hash of the bundle's inputs (relative to `root`), or undefined when one cannot be read. */
export function inputsKey(root: string, inputs: readonly string[]): string | undefined {
  const h = createHash('sha256').update(`esbuild ${esbuildVersion}\n`);
  try {
    for (const f of [...inputs].sort()) h.update(`${f}\n`).update(readFileSync(resolve(root, f)));
  } catch {
    return undefined;
  }
  return h.digest('hex');
}

function readCache(path: string): CacheFile | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<CacheFile>;
    if (v.version !== VERSION || typeof v.key !== 'string' || typeof v.js !== 'string' || !Array.isArray(v.inputs)) return undefined;
    return v as CacheFile;
  } catch {
    return undefined;
  }
}

/** The cached bundle when its inputs are unchanged, else a fresh one from `bundle` (then stored). */
export async function cachedBundle(root: string, cacheDir: string, bundle: () => Promise<PageBundle>): Promise<PageBundle & { cached: boolean }> {
  const path = join(cacheDir, 'playground-bundle.json');
  const old = readCache(path);
  if (old !== undefined && inputsKey(root, old.inputs) === old.key) return { js: old.js, inputs: old.inputs, cached: true };
  const fresh = await bundle();
  const key = inputsKey(root, fresh.inputs);
  if (key !== undefined) {
    try {
      mkdirSync(cacheDir, { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ version: VERSION, key, ...fresh } satisfies CacheFile));
      renameSync(tmp, path);
    } catch {
      // A cache that cannot be written only costs the next start its bundling time.
    }
  }
  return { ...fresh, cached: false };
}
