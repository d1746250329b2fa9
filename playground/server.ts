// `scion playground`'s server: one page on localhost, its script bundled by esbuild at startup
// from playground/page/main.ts (the checker, compiler, runtime and jobs it imports are bundled
// for the browser, so every check, compile and training step runs in the page), plus the default
// spec and the data the page tokenizes. The server computes nothing per request.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { defaultCacheDir } from '../runtime/webgpu/tune-store-file.ts';
import { brownSlice, defaultSpec, gpt2Ranks } from './assets.ts';
import { cachedBundle } from './bundle-cache.ts';
import { PlaygroundError } from './errors.ts';
import { BROWN_PATH, DEFAULT_SPEC_PATH, GPT2_RANKS_PATH, PAGE_JS_PATH } from './assets-paths.ts';
import { PAGE_HTML } from './page-html.ts';

/** The port `scion playground` listens on unless --port says otherwise. */
export const DEFAULT_PORT = 5170;

export interface PageBundle {
  js: string;
  /** Source files in the bundle, relative to the repository root (the tests check what is in it). */
  inputs: string[];
}

const ROOT = join(import.meta.dirname, '..');

/** The page's script for the browser. A Node-only module reached from main.ts fails the build (a bug). */
export async function bundlePage(): Promise<PageBundle> {
  const result = await build({
    entryPoints: [join(ROOT, 'playground', 'page', 'main.ts')],
    absWorkingDir: ROOT,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    outfile: 'playground.js',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const out = result.outputFiles.find((f) => f.path.endsWith('playground.js'));
  if (out === undefined) throw new Error('esbuild wrote no playground.js');
  return { js: out.text, inputs: Object.keys(result.metafile.inputs) };
}

export interface Playground {
  url: string;
  /** `cached`: taken from the bundle cache (bundle-cache.ts) instead of esbuild. */
  bundle: PageBundle & { cached: boolean };
  close(): Promise<void>;
}

interface Served {
  type: string;
  body: string;
}

/**
 * Starts the server on 127.0.0.1 (a secure context, as WebGPU requires); port 0 takes any free one.
 * `cacheDir` holds the bundle cache (default: the autotune store's folder, ~/.cache/scion).
 */
export async function startPlayground(o: { port?: number; cacheDir?: string } = {}): Promise<Playground> {
  // The port first, so that a taken one fails at once rather than after the bundling; until the
  // files are ready every request is a 404.
  let files = new Map<string, Served>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const file = req.method === 'GET' || req.method === 'HEAD' ? files.get(new URL(req.url ?? '/', 'http://localhost').pathname) : undefined;
    if (file === undefined) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    else res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : file.body);
  });
  const port = o.port ?? DEFAULT_PORT;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new PlaygroundError(`port ${port} is in use: pass --port with another one, or --port 0 for any free port`));
      else if (error.code === 'EACCES') reject(new PlaygroundError(`port ${port} needs privileges: pass --port with one above 1023`));
      else reject(error);
    });
    server.listen(port, '127.0.0.1', resolve);
  });
  const close = (): Promise<void> => new Promise((resolve) => server.close(() => resolve()));
  let bundle: Awaited<ReturnType<typeof cachedBundle>>;
  try {
    bundle = await cachedBundle(ROOT, o.cacheDir ?? defaultCacheDir(), bundlePage);
  } catch (error) {
    await close();
    throw error;
  }
  files = new Map<string, Served>([
    ['/', { type: 'text/html; charset=utf-8', body: PAGE_HTML }],
    ['/index.html', { type: 'text/html; charset=utf-8', body: PAGE_HTML }],
    [PAGE_JS_PATH, { type: 'text/javascript; charset=utf-8', body: bundle.js }],
    [DEFAULT_SPEC_PATH, { type: 'text/plain; charset=utf-8', body: defaultSpec() }],
    [BROWN_PATH, { type: 'application/json', body: JSON.stringify(brownSlice()) }],
    [GPT2_RANKS_PATH, { type: 'text/plain; charset=utf-8', body: gpt2Ranks() }],
  ]);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    bundle,
    close,
  };
}
