// Headless Chromium with WebGPU for the browser tests, or a clear skip. The page script
// (page-entry.ts) is bundled by esbuild for the browser at test time and served, with the plans
// to run, from an in-memory localhost server (node:http). Under CI=true a missing Chromium or
// adapter is a failure (CI installs both, so their absence means the set-up broke); elsewhere
// the browser tests are skipped and the reason printed once — the rule of gpu-fixture.ts.

import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, it } from 'vitest';
import type { AdapterDescription } from '../../../../runtime/webgpu/device.ts';
import type { PageApi } from './page-entry.ts';

/** Debian's chromium (apt-get install chromium); SCION_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env['SCION_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  // WebGPU is off on Linux without it. Measured here (Chromium 156, no GPU): this alone gives
  // SwiftShader's Vulkan adapter; --enable-features=Vulkan and --use-angle=vulkan change nothing,
  // and no flag combination tried exposed Mesa's lavapipe.
  '--enable-unsafe-webgpu',
  // CI runs as root, where Chromium's sandbox cannot start.
  '--no-sandbox',
  // The network is closed: without these Chromium keeps dialling Google's services.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

export interface PageBundle {
  js: string;
  /** Source files esbuild put into the bundle, relative to the repository root. */
  inputs: string[];
}

/** Bundles page-entry.ts for the browser. A Node-only import in its graph fails the build (a bug). */
export async function bundlePage(): Promise<PageBundle> {
  const root = join(import.meta.dirname, '../../../..');
  const result = await build({
    entryPoints: [join(import.meta.dirname, 'page-entry.ts')],
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: 'page.js',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const out = result.outputFiles.find((f) => f.path.endsWith('page.js'));
  if (out === undefined) throw new Error('esbuild wrote no page.js');
  return { js: out.text, inputs: Object.keys(result.metafile.inputs) };
}

/** Content types of the files PageServer serves from mounted folders. */
const MOUNT_TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/**
 * Serves published paths from memory, and files of mounted folders from disk, on 127.0.0.1 (a
 * secure context, as WebGPU requires).
 */
export class PageServer {
  private readonly files = new Map<string, { type: string; body: string | Uint8Array }>();
  private readonly mounts = new Map<string, string>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<PageServer> {
    const server = createServer();
    const ps = new PageServer(server);
    server.on('request', (req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const file = ps.files.get(path) ?? ps.fromMount(path);
      if (file === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return ps;
  }

  publish(path: string, type: string, body: string | Uint8Array): string {
    this.files.set(path, { type, body });
    return this.url(path);
  }

  /** Serves the files directly in `dir` (.mjs, .js, .wasm, .json) under `prefix` (e.g. '/ort/'). */
  mount(prefix: string, dir: string): string {
    this.mounts.set(prefix, dir);
    return this.url(prefix);
  }

  private fromMount(path: string): { type: string; body: Uint8Array } | undefined {
    for (const [prefix, dir] of this.mounts) {
      const name = path.slice(prefix.length);
      const type = MOUNT_TYPES[extname(name)];
      // One level, plain names: nothing outside `dir` can be asked for.
      if (!path.startsWith(prefix) || type === undefined || !/^[\w.-]+$/.test(name)) continue;
      const file = join(dir, name);
      if (existsSync(file)) return { type, body: readFileSync(file) };
    }
    return undefined;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface TestBrowser {
  browser: Browser;
  page: Page;
  server: PageServer;
  adapter: AdapterDescription;
  /** Uncaught errors and console errors of the page, for failure messages. */
  errors: string[];
  /** Opens another page on the served index, after running `initScript` (if any) before its scripts. */
  openPage(initScript?: string): Promise<Page>;
}

const INDEX = '<!doctype html><meta charset="utf-8"><title>scion</title><script type="module" src="/page.js"></script>\n';

/** No browser for the tests: a failing test under CI=true, else the reason printed once. */
export function unavailable(reason: string): { browser: null; reason: string } {
  if (process.env['CI'] === 'true') {
    it('has headless Chromium with a WebGPU adapter (required under CI=true)', () => {
      throw new Error(`no browser WebGPU under CI: ${reason}`);
    });
  } else {
    console.warn(`skipping browser WebGPU tests: ${reason}`);
  }
  return { browser: null, reason };
}

/** A served page with `globalThis.scion` loaded and a WebGPU adapter in it, or why not. */
export async function browserForTests(bundle: PageBundle): Promise<{ browser: TestBrowser | null; reason: string }> {
  if (!existsSync(CHROMIUM)) return unavailable(`no Chromium at ${CHROMIUM} (Debian: apt-get install chromium; or set SCION_CHROMIUM)`);
  const server = await PageServer.start();
  server.publish('/page.js', 'text/javascript', bundle.js);
  const index = server.publish('/index.html', 'text/html', INDEX);
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
  } catch (error) {
    await server.close();
    return unavailable(`Chromium at ${CHROMIUM} did not start: ${(error as Error).message.split('\n')[0]}`);
  }
  afterAll(async () => {
    await browser.close();
    await server.close();
  });
  const errors: string[] = [];
  const openPage = async (initScript?: string): Promise<Page> => {
    const page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    if (initScript !== undefined) await page.addInitScript({ content: initScript });
    await page.goto(index);
    await page.waitForFunction(() => 'scion' in globalThis);
    return page;
  };
  const page = await openPage();
  const probe = await page.evaluate(() => (globalThis as unknown as { scion: PageApi }).scion.probe());
  if ('reason' in probe) return unavailable(`Chromium (${browser.version()}) offers no WebGPU adapter: ${probe.reason}`);
  return { browser: { browser, page, server, adapter: probe.adapter, errors, openPage }, reason: '' };
}
