// Autotuning choices in a JSON file (Node only):
//   <cacheDir>/autotune.json = { "version": 1, "adapters": { <adapter key>: { <op key>: TuneChoice } } }
// cacheDir: the caller's, else $SCION_CACHE_DIR, else $XDG_CACHE_HOME/scion, else ~/.cache/scion.
// A file that is unreadable or of another version is ignored (and rewritten on the next choice):
// it is only a cache.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TuneChoice, TuneStore } from './autotune.ts';

const VERSION = 1;

interface TuneFile {
  version: number;
  adapters: Record<string, Record<string, TuneChoice>>;
}

export function defaultCacheDir(): string {
  const env = process.env;
  if (env['SCION_CACHE_DIR'] !== undefined && env['SCION_CACHE_DIR'] !== '') return env['SCION_CACHE_DIR'];
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'scion');
}

function isTuneFile(value: unknown): value is TuneFile {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<TuneFile>;
  return v.version === VERSION && typeof v.adapters === 'object' && v.adapters !== null;
}

export class FileTuneStore implements TuneStore {
  readonly path: string;
  private data: TuneFile;

  constructor(cacheDir: string = defaultCacheDir()) {
    this.path = join(cacheDir, 'autotune.json');
    this.data = { version: VERSION, adapters: {} };
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.path, 'utf8'));
      if (isTuneFile(parsed)) this.data = parsed;
    } catch {
      // missing or corrupt: start empty
    }
  }

  get(adapterKey: string, opKey: string): TuneChoice | undefined {
    return this.data.adapters[adapterKey]?.[opKey];
  }

  set(adapterKey: string, opKey: string, choice: TuneChoice): void {
    (this.data.adapters[adapterKey] ??= {})[opKey] = choice;
    mkdirSync(join(this.path, '..'), { recursive: true });
    // write-then-rename, so a concurrent reader never sees half a file
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.data, null, 2)}\n`);
    renameSync(tmp, this.path);
  }
}
