// The yielding poll wrapper: Dawn's native re-arms spin briefly, then sleep; JavaScript callbacks
// are untouched; install/uninstall are reference-counted and restore the original.

import { afterEach, describe, expect, it } from 'vitest';
import { installYieldingPoll, pollStats, setPollingEnabled } from '../../../runtime/webgpu/poll.ts';

/** A native-looking callback like Dawn's (bound functions print as native code). */
function nativeCallback(onCall: () => void): () => void {
  return onCall.bind(null);
}

/** Resolves with the ms until `schedule` runs its callback. */
function delayOf(schedule: (callback: () => void) => void): Promise<number> {
  const start = performance.now();
  return new Promise((resolve) => schedule(() => resolve(performance.now() - start)));
}

const original = globalThis.setImmediate;
let uninstalls: (() => void)[] = [];
afterEach(() => {
  for (const u of uninstalls) u();
  uninstalls = [];
});

describe('installYieldingPoll', () => {
  it('sleeps a native re-arm once the spin is over, and passes JavaScript callbacks through', async () => {
    uninstalls.push(installYieldingPoll({ spinMs: 0, sleepMs: 30 }));
    const native = await delayOf((done) => setImmediate(nativeCallback(done)));
    const js = await delayOf((done) => setImmediate(() => done()));
    expect(native).toBeGreaterThanOrEqual(25); // went through setTimeout(30)
    expect(js).toBeLessThan(25);
    expect(pollStats()).toEqual({ polls: 1, sleeps: 1 }); // the JS callback was not counted
  });

  it('keeps native re-arms on setImmediate during the spin', async () => {
    uninstalls.push(installYieldingPoll({ spinMs: 10_000, sleepMs: 30 }));
    const native = await delayOf((done) => setImmediate(nativeCallback(done)));
    expect(native).toBeLessThan(25);
    expect(pollStats()).toEqual({ polls: 1, sleeps: 0 });
  });

  it('passes everything through while disabled', async () => {
    uninstalls.push(installYieldingPoll({ spinMs: 0, sleepMs: 30 }));
    setPollingEnabled(false);
    const native = await delayOf((done) => setImmediate(nativeCallback(done)));
    setPollingEnabled(true);
    expect(native).toBeLessThan(25);
    expect(pollStats()).toEqual({ polls: 0, sleeps: 0 });
  });

  it('is reference-counted and restores the original setImmediate', () => {
    const first = installYieldingPoll();
    const second = installYieldingPoll();
    expect(globalThis.setImmediate).not.toBe(original);
    first();
    first(); // idempotent: does not release the second user's hold
    expect(globalThis.setImmediate).not.toBe(original);
    second();
    expect(globalThis.setImmediate).toBe(original);
    expect(pollStats()).toBeNull();
  });
});
