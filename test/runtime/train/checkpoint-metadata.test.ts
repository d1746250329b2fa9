// The checkpoint's state metadata (step, optimizer counters, RNG, data position, metrics) is
// covered by its own CRC-32 (version 2), so a hand-edited step or data cursor is refused as a
// damaged checkpoint instead of resuming 30 steps late without a word. Version 1 files, whose
// CRC covered the tensors only, still read.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, checkpointPath, latestCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint } from '../../../runtime/train/checkpoint.ts';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../../runtime/weights/index.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'scion-ckpt-meta-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const checkpoint = (step: number): Checkpoint => ({
  step,
  params: new Map([['w', Float32Array.of(1, 2, 3)]]),
  optimizer: { kind: 'adamw', step, tensors: new Map([['exp_avg/w', Float32Array.of(0.5, 0.5, 0.5)]]) },
  rng: [1, 2, 3, step],
  data: { epoch: 0, cursor: step * 8 },
  metrics: [{ kind: 'train', step, loss: 1 }],
});

/** Rewrites a checkpoint's header metadata by `edit`, the tensors untouched (a hand edit). */
async function editMetadata(path: string, edit: (meta: Record<string, string>) => void): Promise<void> {
  const file = await openSafetensors(path);
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of file.tensors) tensors.set(name, { dtype: 'F32', shape: t.shape, data: (await file.read(name)) as Float32Array });
  const meta = { ...file.metadata };
  await file.close();
  edit(meta);
  await writeSafetensors(path, tensors, meta);
}

const EDITED = 'the state metadata (step, optimizer counters, RNG, data position, metrics) does not match its CRC-32: it was edited or damaged';

describe('checkpoint state metadata under its CRC-32', () => {
  const cases: [string, (m: Record<string, string>) => void][] = [
    ['the step', (m) => void (m.state = m.state!.replace('"step":4,', '"step":34,'))],
    ['the data cursor', (m) => void (m.state = m.state!.replace('"cursor":32', '"cursor":0'))],
    ['the optimizer counter', (m) => void (m.state = m.state!.replace('"kind":"adamw","step":4', '"kind":"adamw","step":40'))],
    ['the RNG state', (m) => void (m.state = m.state!.replace('[1,2,3,4]', '[1,2,3,5]'))],
    ['the metrics', (m) => void (m.state = m.state!.replace('"loss":1', '"loss":0.5'))],
    ['the checksum removed', (m) => void delete m.state_crc32],
    ['the state removed', (m) => void delete m.state],
  ];
  for (const [what, edit] of cases) {
    it(`refuses an edit of ${what}`, async () => {
      const dir = join(root, what.replaceAll(' ', '-'));
      await writeCheckpoint(dir, checkpoint(4));
      const path = checkpointPath(dir, 4);
      await expect(readCheckpoint(path)).resolves.toMatchObject({ step: 4 });
      let changed = '';
      await editMetadata(path, (m) => {
        const before = JSON.stringify(m);
        edit(m);
        changed = JSON.stringify(m) === before ? 'no' : 'yes';
      });
      expect(changed).toBe('yes');
      const error = await readCheckpoint(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as Error).message).toBe(`${path}: not a valid checkpoint: ${EDITED}`);
    });
  }

  it('falls back past an edited newest checkpoint to the one before, saying why', async () => {
    const dir = join(root, 'fallback');
    await writeCheckpoint(dir, checkpoint(2));
    await writeCheckpoint(dir, checkpoint(4));
    await editMetadata(checkpointPath(dir, 4), (m) => void (m.state = m.state!.replace('"step":4,', '"step":34,')));
    const latest = await latestCheckpoint(dir);
    expect(latest?.checkpoint.step).toBe(2);
    expect(latest?.skipped).toEqual([{ path: checkpointPath(dir, 4), reason: `${checkpointPath(dir, 4)}: not a valid checkpoint: ${EDITED}` }]);
  });

  it('writes version 2 with state_crc32, and still reads a version 1 file (tensor CRC only)', async () => {
    const dir = join(root, 'v1');
    const v2 = await writeCheckpoint(dir, checkpoint(4));
    const file = await openSafetensors(v2);
    expect(file.metadata.version).toBe('2');
    expect(file.metadata.state_crc32).toBe(crc32(file.metadata.state!).toString(16));
    await file.close();
    await editMetadata(v2, (m) => {
      m.version = '1';
      delete m.state_crc32;
    });
    await expect(readCheckpoint(v2)).resolves.toMatchObject({ step: 4, data: { epoch: 0, cursor: 32 } });
    // A version this Scion does not know is refused by name.
    await editMetadata(v2, (m) => void (m.version = '3'));
    await expect(readCheckpoint(v2)).rejects.toThrow(`${v2}: not a valid checkpoint: version 3 is not one this Scion reads (1, 2)`);
  });
});
