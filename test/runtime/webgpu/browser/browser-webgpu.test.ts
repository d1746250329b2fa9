// The browser path of the runtime: graphs compiled here in Node are served as JSON to a page in
// headless Chromium, which acquires its device through acquireDevice's navigator.gpu branch,
// runs them with the same WebGpuExecutor and sends the results back; they must match the CPU
// reference within the tolerance of test/runtime/webgpu/specs-webgpu.test.ts (1e-4 of max |value|).
// The bundle test needs no browser; the rest is skipped without Chromium or an adapter (a
// failure under CI=true).

import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../../../runtime/cpu/tensor.ts';
import type { RunResult } from '../../../../runtime/webgpu/browser/run-request.ts';
import { fromWire } from '../../../../runtime/webgpu/browser/wire.ts';
import { browserForTests, bundlePage } from './browser-fixture.ts';
import { type BrowserCase, llamaForward, mlpTraining } from './cases.ts';
import type { PageApi } from './page-entry.ts';

const bundle = await bundlePage();

describe('the page bundle (esbuild, platform browser)', () => {
  it('holds the runtime browser path and no Node-only module', () => {
    for (const needed of ['runtime/webgpu/device.ts', 'runtime/webgpu/executor.ts', 'runtime/webgpu/browser/run-request.ts']) {
      expect(bundle.inputs, needed).toContain(needed);
    }
    // Dawn (a native addon), the setImmediate wrapper, the file-backed tuning store, node: builtins.
    const nodeOnly = bundle.inputs.filter((f) => /node_modules\/webgpu\/|runtime\/webgpu\/(poll|tune-store-file)\.ts$|^node:/.test(f));
    expect(nodeOnly).toEqual([]);
    // No compiler code either: a page runs artifacts, it does not compile them (DESIGN.md).
    expect(bundle.inputs.filter((f) => f.startsWith('compiler/') || f.startsWith('grammar/'))).toEqual([]);
  });
});

const { browser } = await browserForTests(bundle);

/** Largest |got − want| must be within 1e-4 of the largest |want| (floored at 1e-3). */
function expectClose(got: Tensor, want: Tensor, what: string): void {
  expect(got.shape, `${what}: shape`).toEqual([...want.shape]);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.data.length; i++) {
    scale = Math.max(scale, Math.abs(want.data[i] as number));
    err = Math.max(err, Math.abs((got.data[i] as number) - (want.data[i] as number)));
  }
  expect(Number.isFinite(scale), `${what} is finite on the CPU`).toBe(true);
  expect(err, `${what}: max error ${err} against max |value| ${scale}`).toBeLessThanOrEqual(1e-4 * Math.max(scale, 1e-3));
}

const SLOW = { timeout: 300_000 };

describe.skipIf(browser === null)('compiled graphs in headless Chromium (navigator.gpu) match the CPU reference', () => {
  const b = browser as NonNullable<typeof browser>;

  async function runInPage(c: BrowserCase): Promise<RunResult> {
    const url = b.server.publish(`/plans/${c.name}.json`, 'application/json', JSON.stringify(c.request));
    try {
      return await b.page.evaluate((u) => (globalThis as unknown as { scion: PageApi }).scion.runFromUrl(u), url);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${b.errors.join('\n')}`);
    }
  }

  it("acquires the page's adapter through acquireDevice's navigator.gpu branch", () => {
    console.log(`browser WebGPU adapter: ${JSON.stringify(b.adapter)} (Chromium ${b.browser.version()})`);
    expect(b.adapter.platform).toBe('browser');
    expect(b.adapter.key.startsWith('browser:')).toBe(true);
  });

  const CASES: [string, () => BrowserCase][] = [
    ['the tiny llama of tiny-lm.scion, forward: logits', llamaForward],
    ["three AdamW steps of mnist-classifier.scion's MLP: each step's loss, params and moments", () => mlpTraining(3)],
  ];

  it.each(CASES)('%s', SLOW, async (_title, make) => {
    const c = make();
    const result = await runInPage(c);
    if (!result.ok) throw new Error(`the page found no device: ${result.reason}`);
    expect(result.adapter.platform).toBe('browser');
    expect(result.steps.length).toBe(c.expected.length);
    for (const [s, want] of c.expected.entries()) {
      const got = result.steps[s] as Record<string, Parameters<typeof fromWire>[0]>;
      expect(Object.keys(got).sort()).toEqual([...want.keys()].sort());
      for (const [name, w] of want) expectClose(fromWire(got[name] as Parameters<typeof fromWire>[0]), w, `step ${s + 1} ${name}`);
    }
    // A non-trivial trajectory: the reference loss moved between steps (forward cases run one).
    if (c.expected.length > 1) expect(c.expected[1]?.get('loss')?.data[0]).not.toBe(c.expected[0]?.get('loss')?.data[0]);
  });

  it('a page without navigator.gpu gets NoDevice and the reason, not an exception', SLOW, async () => {
    const page = await b.openPage("Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });");
    try {
      const probe = await page.evaluate(() => (globalThis as unknown as { scion: PageApi }).scion.probe());
      expect(probe).toEqual({ reason: expect.stringMatching(/this browser has no WebGPU \(navigator\.gpu is undefined\)/) });
    } finally {
      await page.close();
    }
  });
});
