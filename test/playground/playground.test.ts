// The playground end to end in headless Chromium (playwright-core, Debian's chromium, WebGPU on
// SwiftShader as in test/runtime/webgpu/browser/): the server starts and bundles the page, the
// page checks what is typed in the editor with the bundled checker (a mistake → its diagnostic on
// its line; the fix → none), explains the default model, and trains it on the page's WebGPU
// adapter — the loss must fall — then generates a sample. A page without navigator.gpu says so
// and still checks and explains. Without Chromium the browser part is skipped (a failure under
// CI=true, the rule of browser-fixture.ts).
//
// SCION_SCREENSHOT=1 also writes docs/images/playground.png (the README's picture) after the run.

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { explainModel } from '../../compiler/explain.ts';
import { END_SAMPLE } from '../../jobs/train/sample-text.ts';
import { parseProgram } from '../../grammar/dsl/parse.ts';
import { defaultSpec } from '../../playground/assets.ts';
import { type Playground, startPlayground } from '../../playground/server.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../runtime/webgpu/browser/browser-fixture.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SLOW = { timeout: 600_000 };

interface PageDiag {
  line: number;
  severity: string;
  message: string;
}
interface PlaygroundApi {
  run: { phase: string; steps: number[]; losses: number[]; sample: string; message: string };
  webgpu(): boolean;
  selectText(s: string, within?: string): boolean;
  text(): string;
  diagnostics(): PageDiag[];
  layers(): string[];
}
const api = (page: Page, f: (p: PlaygroundApi) => unknown) => page.evaluate(`(${f.toString()})(globalThis.playground)`);

const server: Playground = await startPlayground({ port: 0, cacheDir: mkdtempSync(join(tmpdir(), 'scion-playground-')) });
afterAll(() => server.close());

describe('the playground server', () => {
  it('bundles the checker, compiler, runtime and on-device training for the browser, and no Node-only module', () => {
    for (const needed of [
      'grammar/check/check-source.ts',
      'compiler/explain.ts',
      'compiler/pipeline.ts',
      'jobs/train/device-lm.ts',
      'runtime/webgpu/executor.ts',
    ]) {
      expect(server.bundle.inputs, needed).toContain(needed);
    }
    const nodeOnly = server.bundle.inputs.filter((f) => /node_modules\/webgpu\/|tune-store-file\.ts$|runtime\/data\/brown\.ts$|gpt2-file\.ts$|^node:/.test(f));
    expect(nodeOnly).toEqual([]);
  });

  it('serves the page, its script, the default spec and the data; nothing else', async () => {
    const get = (path: string) => fetch(new URL(path, server.url));
    expect(await (await get('/')).text()).toContain('<script type="module" src="/playground.js">');
    expect((await get('/playground.js')).headers.get('content-type')).toMatch(/javascript/);
    expect(await (await get('/default.scion')).text()).toBe(defaultSpec());
    const brown = (await (await get('/data/brown-train.json')).json()) as { ids: string[]; docs: string[] };
    expect(brown.docs.length).toBe(brown.ids.length);
    expect(brown.docs.join('').length).toBeGreaterThan(200_000);
    expect((await get('/nope')).status).toBe(404);
  });
});

async function launch(): Promise<Browser | string> {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (Debian: apt-get install chromium; or set SCION_CHROMIUM)`;
  try {
    return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS] });
  } catch (error) {
    return `Chromium at ${CHROMIUM} did not start: ${(error as Error).message.split('\n')[0]}`;
  }
}

const launched = await launch();
if (typeof launched === 'string') {
  if (process.env['CI'] === 'true') it('has headless Chromium (required under CI=true)', () => expect.fail(launched));
  else console.warn(`skipping the playground browser tests: ${launched}`);
}
const browser = typeof launched === 'string' ? null : launched;
afterAll(() => browser?.close());

async function open(initScript?: string): Promise<{ page: Page; errors: string[] }> {
  const page = await (browser as Browser).newPage({ viewport: { width: 1280, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  if (initScript !== undefined) await page.addInitScript({ content: initScript });
  await page.goto(server.url);
  await page.waitForFunction(() => 'playground' in globalThis, undefined, { timeout: 60_000 });
  // The first check runs after the editor's pause: the explain table appears with it.
  await page.waitForFunction(() => (document.getElementById('explain')?.textContent ?? '').includes('lm_head'), undefined, { timeout: 60_000 });
  return { page, errors };
}

describe.skipIf(browser === null)('the playground page in headless Chromium', () => {
  let page: Page;
  let errors: string[];

  it('explains the default model: its layers in order and its parameter count', SLOW, async () => {
    ({ page, errors } = await open());
    const want = explainModel(parseProgram(defaultSpec(), 'default.scion').program, 'TinyLlama', { dims: { batch: 1 } });
    expect(await api(page, (p) => p.layers())).toEqual(want.layers.map((l) => l.path));
    const table = await page.locator('#explain').textContent();
    // 1,774,720: embed 4096·128, per block (×4) 128 + 49,152 + 128 + 132,096, final norm 128, head 128·4096.
    expect(table).toContain('parameters: 1,774,720');
    for (const path of ['embed_tokens', 'layers.0.self_attn', 'layers.1.mlp', 'lm_head']) expect(table).toContain(path);
    expect(await page.locator('#graph svg g.layer').count()).toBe(want.inputs.length + want.layers.length + want.outputs.length);
    expect(await api(page, (p) => p.diagnostics())).toEqual([]);
  });

  it('shows the diagnostic of a typed mistake on its line, and clears it when fixed', SLOW, async () => {
    const line =
      defaultSpec()
        .split('\n')
        .findIndex((l) => l.includes('Embedding(tokens, vocab, dim)')) + 1;
    expect(line).toBe(12);
    expect(await api(page, (p) => p.selectText('dim', 'dim) as embed_tokens'))).toBe(true);
    await page.keyboard.type('dimm');
    await page.waitForFunction(() => (globalThis as unknown as { playground: PlaygroundApi }).playground.diagnostics().length > 0, undefined, {
      timeout: 30_000,
    });
    const found = (await api(page, (p) => p.diagnostics())) as PageDiag[];
    expect(found).toEqual([{ line, severity: 'error', message: expect.stringMatching(/undefined name `dimm`[\s\S]*did you mean `dim`\?/) }]);
    expect(await page.locator('.cm-lintRange-error').count()).toBeGreaterThan(0);
    expect(await page.locator('#problems').textContent()).toBe('1 error, 0 warnings');

    expect(await api(page, (p) => p.selectText('dimm'))).toBe(true);
    await page.keyboard.type('dim');
    await page.waitForFunction(() => document.getElementById('problems')?.textContent === 'no problems', undefined, { timeout: 30_000 });
    expect(await api(page, (p) => p.diagnostics())).toEqual([]);
    expect(await api(page, (p) => p.text())).toBe(defaultSpec());
  });

  it('trains 20 steps on the page WebGPU adapter: the loss falls; then it generates a sample', SLOW, async () => {
    if (!(await api(page, (p) => p.webgpu()))) {
      if (process.env['CI'] === 'true') expect.fail(`no WebGPU adapter in Chromium: ${await page.locator('#gpu').textContent()}`);
      console.warn(`skipping the playground run: ${await page.locator('#gpu').textContent()}`);
      return;
    }
    // The default model is sized for the CLI's fast CPU path (4096 ids, 128 wide, 4 layers); on a
    // software adapter the page trains it at its earlier sizes, typed into the header as a user would.
    const header = 'vocab = 4096, dim = 128, depth = 4, heads = 4, kv_heads = 2, ffn = 344';
    expect(await api(page, (p) => p.selectText('vocab = 4096, dim = 128, depth = 4, heads = 4, kv_heads = 2, ffn = 344'))).toBe(true);
    await page.keyboard.type('vocab = 512, dim = 64, depth = 2, heads = 4, kv_heads = 2, ffn = 172');
    // embed, 2 blocks of 4 layers, norm and head
    await page.waitForFunction(() => (globalThis as unknown as { playground: PlaygroundApi }).playground.layers().length === 1 + 2 * 4 + 2, undefined, {
      timeout: 30_000,
    });
    expect(await api(page, (p) => p.text())).toBe(defaultSpec().replace(header, 'vocab = 512, dim = 64, depth = 2, heads = 4, kv_heads = 2, ffn = 172'));
    expect(await api(page, (p) => p.diagnostics())).toEqual([]);
    await page.fill('#steps', '20');
    await page.fill('#batch', '4');
    await page.click('#run');
    await page.waitForFunction(() => (globalThis as unknown as { playground: PlaygroundApi }).playground.run.phase !== 'running', undefined, {
      timeout: 580_000,
    });
    const run = (await api(page, (p) => p.run)) as PlaygroundApi['run'];
    if (run.phase !== 'done') throw new Error(`the run ${run.phase}: ${run.message}\n${errors.join('\n')}`);
    console.log(`playground losses: ${run.losses.map((l) => l.toFixed(3)).join(' ')}`);
    expect(run.steps).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // A fresh model predicts ~uniformly over its 512 ids: ln 512 ≈ 6.24 nats.
    expect(run.losses[0]).toBeGreaterThan(5.9);
    expect(run.losses[0]).toBeLessThan(6.6);
    const last = run.losses.slice(-3).reduce((a, b) => a + b, 0) / 3;
    expect(last).toBeLessThan((run.losses[0] as number) - 0.5);
    expect(run.sample.startsWith(END_SAMPLE.prompt)).toBe(true);
    expect(run.sample.length).toBeGreaterThan(END_SAMPLE.prompt.length);
    expect(await page.locator('#loss svg polyline').count()).toBe(1);
    if (process.env['SCION_SCREENSHOT'] === '1') await page.screenshot({ path: join(ROOT, 'docs', 'images', 'playground.png') });
  });

  it('without navigator.gpu says so, and still checks and explains', SLOW, async () => {
    const { page: bare } = await open("Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });");
    try {
      await bare.waitForFunction(() => document.getElementById('gpu')?.textContent?.startsWith('No WebGPU'), undefined, { timeout: 30_000 });
      expect(await bare.locator('#gpu').textContent()).toMatch(
        /^No WebGPU here \(this browser has no WebGPU \(navigator\.gpu is undefined\).*\): the page still checks and explains, but cannot train\.$/,
      );
      expect(await bare.locator('#run').isDisabled()).toBe(true);
      expect(await bare.locator('#explain').textContent()).toContain('parameters: 1,774,720');
    } finally {
      await bare.close();
    }
  });
});
