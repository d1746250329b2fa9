// The autotuner picks the fastest candidate, remembers it per (adapter, op), and the file store
// survives a restart but shrugs off a corrupt or foreign file.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { autotune, isCurrentChoice, median, MemoryTuneStore } from '../../../runtime/webgpu/autotune.ts';
import { FileTuneStore } from '../../../runtime/webgpu/tune-store-file.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function counted(ms: number): { run: () => Promise<void>; calls: () => number } {
  let calls = 0;
  return { run: async () => void (calls++, await sleep(ms)), calls: () => calls };
}

describe('autotune', () => {
  it('chooses the fastest candidate once and then reads the store', async () => {
    const store = new MemoryTuneStore();
    const slow = counted(40);
    const fast = counted(2);
    const request = { adapterKey: 'node:fake', opKey: 'matmul/x', workload: 'w', candidates: { slow: slow.run, fast: fast.run }, reps: 2 };
    const first = await autotune(store, request);
    expect(first.choice).toBe('fast');
    expect(first.fresh).toBe(true);
    expect(first.timesMs['slow']).toBeGreaterThan(first.timesMs['fast']!);
    expect(slow.calls()).toBe(3); // one warm-up, two timed
    const second = await autotune(store, request);
    expect(second).toMatchObject({ choice: 'fast', fresh: false });
    expect(slow.calls() + fast.calls()).toBe(6); // nothing ran again
    // another adapter is tuned separately
    expect((await autotune(store, { ...request, adapterKey: 'node:other' })).fresh).toBe(true);
  });

  it('re-tunes when the remembered choice is no longer a candidate', async () => {
    const store = new MemoryTuneStore();
    store.set('a', 'op', { choice: 'gone', timesMs: {}, workload: 'w', at: 'then' });
    const result = await autotune(store, { adapterKey: 'a', opKey: 'op', workload: 'w', candidates: { only: counted(1).run }, reps: 1 });
    expect(result).toMatchObject({ choice: 'only', fresh: true });
  });

  it('re-tunes when a candidate was added since the choice was made, and keeps it otherwise', async () => {
    const store = new MemoryTuneStore();
    store.set('a', 'op', { choice: 'old', timesMs: { old: 5 }, workload: 'w', at: 'then' });
    const old = counted(20);
    const added = counted(1);
    const result = await autotune(store, { adapterKey: 'a', opKey: 'op', workload: 'w', candidates: { old: old.run, added: added.run }, reps: 1 });
    expect(result).toMatchObject({ choice: 'added', fresh: true });
    expect(old.calls()).toBe(2); // the old winner was timed again beside the newcomer
    expect(isCurrentChoice(store.get('a', 'op'), ['old', 'added'])).toBe(true);
    expect(isCurrentChoice(store.get('a', 'op'), ['old', 'added', 'newer'])).toBe(false);
    expect(isCurrentChoice(store.get('a', 'op'), ['added'])).toBe(false);
  });

  it('median of odd and even counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });
});

describe('FileTuneStore', () => {
  it('persists choices keyed by adapter and op', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-tune-'));
    const choice = { choice: 'register-4x4', timesMs: { 'register-4x4': 1.5 }, workload: '512x512x512', at: '2026-01-01T00:00:00.000Z' };
    new FileTuneStore(dir).set('node:mesa/llvmpipe', 'matmul/f32/v4', choice);
    const reopened = new FileTuneStore(dir);
    expect(reopened.get('node:mesa/llvmpipe', 'matmul/f32/v4')).toEqual(choice);
    expect(reopened.get('node:other', 'matmul/f32/v4')).toBeUndefined();
    expect(JSON.parse(readFileSync(join(dir, 'autotune.json'), 'utf8'))).toMatchObject({ version: 1 });
  });

  it('ignores a corrupt file or one of another version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-tune-'));
    writeFileSync(join(dir, 'autotune.json'), '{ not json');
    expect(new FileTuneStore(dir).get('a', 'b')).toBeUndefined();
    writeFileSync(join(dir, 'autotune.json'), JSON.stringify({ version: 99, adapters: { a: { b: { choice: 'x' } } } }));
    expect(new FileTuneStore(dir).get('a', 'b')).toBeUndefined();
  });
});
