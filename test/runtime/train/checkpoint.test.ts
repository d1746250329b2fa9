import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointPath, latestCheckpoint, listCheckpoints, readCheckpoint, writeCheckpoint } from '../../../runtime/train/checkpoint.ts';
import { Prng } from '../../../runtime/data/prng.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'scion-ckpt-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('checkpoints', () => {
  it('round-trips params, optimizer state, EMA, RNG, data position and metrics; keeps the last K', async () => {
    const dir = join(root, 'roundtrip');
    const params = new Map([
      ['b', new Float32Array([0.5])],
      ['a.weight', new Float32Array([1, -2, 3.25])],
    ]);
    for (let step = 10; step <= 40; step += 10) {
      await writeCheckpoint(
        dir,
        {
          step,
          params,
          optimizer: { kind: 'adamw', step, tensors: new Map([['exp_avg/a.weight', new Float32Array([step, 0, 1])]]) },
          ema: new Map([['b', new Float32Array([0.25])]]),
          rng: [1, 2, 3, step],
          data: { epoch: 1, cursor: step },
          metrics: [{ kind: 'train', step, loss: 1 / step }],
        },
        { keep: 2 },
      );
    }
    expect((await listCheckpoints(dir)).map((c) => c.step)).toEqual([30, 40]);
    const c = await readCheckpoint(checkpointPath(dir, 40));
    expect(c.step).toBe(40);
    expect([...c.params.get('a.weight')!]).toEqual([1, -2, 3.25]);
    expect([...c.params.get('b')!]).toEqual([0.5]);
    expect(c.optimizer?.kind).toBe('adamw');
    expect(c.optimizer?.step).toBe(40);
    expect([...c.optimizer!.tensors.get('exp_avg/a.weight')!]).toEqual([40, 0, 1]);
    expect([...c.ema!.get('b')!]).toEqual([0.25]);
    expect(c.rng).toEqual([1, 2, 3, 40]);
    expect(c.data).toEqual({ epoch: 1, cursor: 40 });
    expect(c.metrics).toEqual([{ kind: 'train', step: 40, loss: 1 / 40 }]);
  });

  it('falls back past a truncated or corrupted newest file', async () => {
    const dir = join(root, 'damaged');
    const params = new Map([['w', Float32Array.from({ length: 1000 }, (_, i) => i)]]);
    for (const step of [1, 2, 3]) await writeCheckpoint(dir, { step, params, metrics: [] }, { keep: 5 });
    await truncate(checkpointPath(dir, 3), 2000);
    // Flip one data byte of step 2: the header still parses, the CRC catches it.
    const bytes = await readFile(checkpointPath(dir, 2));
    bytes[bytes.length - 10]! ^= 0xff;
    await writeFile(checkpointPath(dir, 2), bytes);
    const latest = await latestCheckpoint(dir);
    expect(latest?.checkpoint.step).toBe(1);
    expect(latest?.skipped.map((s) => s.path)).toEqual([checkpointPath(dir, 3), checkpointPath(dir, 2)]);
    expect(latest?.skipped[1]?.reason).toMatch(/CRC-32/);
    expect(await latestCheckpoint(join(root, 'nothing-here'))).toBeUndefined();
  });

  it("removes the temp files of a killed writer (its pid gone) and keeps a live writer's", async () => {
    const dir = join(root, 'temps');
    const params = new Map([['w', new Float32Array([1, 2])]]);
    await writeCheckpoint(dir, { step: 1, params, metrics: [] });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const killed = [`.step-00000002.safetensors.${dead}-deadbeef.tmp`, `.summary.json.${dead}-0badf00d.tmp`];
    const live = `.step-00000002.safetensors.${process.pid}-12345678.tmp`;
    for (const n of [...killed, live]) await writeFile(join(dir, n), 'half a checkpoint');
    await writeCheckpoint(dir, { step: 3, params, metrics: [] });
    expect((await readdir(dir)).sort()).toEqual([live, 'step-00000001.safetensors', 'step-00000003.safetensors']);
  });

  it('survives SIGKILL at random moments while a large checkpoint is being written', async () => {
    const dir = join(root, 'killed');
    const script = fileURLToPath(new URL('./fixtures/checkpoint-writer.ts', import.meta.url));
    const rng = new Prng(2024);
    let lastReported = 0;
    let sawTemp = false;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, dir, '2000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      // Wait for one complete write (timing it), then kill at a random moment into the next one.
      const writeMs = await new Promise<number>((resolve, reject) => {
        let text = '';
        let began = 0;
        let duration = 0;
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          for (;;) {
            const nl = text.indexOf('\n');
            if (nl < 0) break;
            const [what, n] = text.slice(0, nl).split(' ');
            text = text.slice(nl + 1);
            if (what === 'begin' && duration > 0) resolve(duration);
            else if (what === 'begin') began = performance.now();
            else if (what === 'wrote') {
              duration = performance.now() - began;
              lastReported = Number(n);
            }
          }
        });
        child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
      });
      await new Promise((resolve) => setTimeout(resolve, rng.nextInt(Math.max(1, Math.floor(writeMs)))));
      child.kill('SIGKILL');
      await exited;
      sawTemp ||= (await readdir(dir)).some((name) => name.endsWith('.tmp'));

      const latest = await latestCheckpoint(dir);
      expect(latest).toBeDefined();
      const { checkpoint, skipped } = latest!;
      expect(skipped).toEqual([]); // the rename is atomic: no torn file under a final name
      expect(checkpoint.step).toBeGreaterThanOrEqual(lastReported);
      const w = checkpoint.params.get('w')!;
      expect(w.length).toBe(2_000_000);
      const s = checkpoint.step;
      for (const i of [0, 1, 996, 997, 123_456, 1_999_999]) expect(w[i]).toBe(Math.fround(s * 1000 + (i % 997)));
      expect(checkpoint.rng).toEqual([s, 1, 2, 3]);
      expect([...checkpoint.optimizer!.tensors.get('momentum_buffer/w')!.subarray(0, 3)]).toEqual([s, s, s]);
    }
    // Not asserted (timing-dependent), but the point of the test: some kills landed mid-write.
    if (!sawTemp) console.warn('checkpoint kill test: no kill landed mid-write this time');
  });
});
