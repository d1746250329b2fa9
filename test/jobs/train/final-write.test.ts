// Faults at the end of a run and during a checkpoint (issue 19): a full disk (ENOSPC) while the
// model or a checkpoint is written is one line, exit 1, no stack; summary.json is written only
// after the model, so a run cut short there leaves none claiming steps the model does not have;
// and the checkpoints written before the fault resume the run.

import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../cli/main.ts';
import { captureIo } from '../../cli/capture-io.ts';
import { TINY_RUN_SPEC } from './tiny-run.ts';

/** Which write fails with ENOSPC: the final model, or the checkpoint of this step. */
const fault: { model: boolean; checkpointStep: number | undefined } = { model: false, checkpointStep: undefined };
const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

vi.mock('../../../jobs/train/outputs.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../jobs/train/outputs.ts')>();
  return {
    ...real,
    saveModel: async (...args: Parameters<typeof real.saveModel>) => {
      if (fault.model) throw enospc();
      return real.saveModel(...args);
    },
  };
});
vi.mock('../../../runtime/train/checkpoint.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../runtime/train/checkpoint.ts')>();
  return {
    ...real,
    writeCheckpoint: async (...args: Parameters<typeof real.writeCheckpoint>) => {
      if (args[1].step === fault.checkpointStep) throw enospc();
      return real.writeCheckpoint(...args);
    },
  };
});

const SPEC = TINY_RUN_SPEC;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scion-finalwrite-'));
  writeFileSync(join(dir, 'tiny.scion'), SPEC);
  writeFileSync(join(dir, 'train.txt'), 'the cat sat on the mat. a dog ran in the park. '.repeat(40));
});

async function train(out: string, ...extra: string[]): Promise<{ code: number; stderr: string }> {
  const io = captureIo(dir);
  const code = await main(['train', 'tiny.scion', '--out', out, '--device', 'reference', '--json', ...extra], io);
  return { code, stderr: io.stderr };
}
const lastLine = (text: string): string => `${text.trimEnd().split('\n').at(-1)}\n`;

describe('a full disk at the end of a run', () => {
  it('while the model is written: one line, no summary.json, and --resume finishes the run from the last checkpoint', async () => {
    expect((await train('model')).code).toBe(0);
    expect(existsSync(join(dir, 'model', 'summary.json'))).toBe(true);

    // The same folder again with a full disk at the model: the earlier summary does not survive to describe it.
    fault.model = true;
    const r = await train('model');
    fault.model = false;
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toBe('scion train: no space left on the device: free some disk space and run again\n');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(join(dir, 'model', 'summary.json'))).toBe(false);
    expect(readdirSync(join(dir, 'model')).filter((n) => n.endsWith('.tmp') || n === '.scion-lock')).toEqual([]);

    const resumed = await train('model', '--resume');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'model', 'summary.json'), 'utf8'))).toMatchObject({ steps: 4 });
  }, 60_000);

  it('while a checkpoint is written: one line, a failed summary, and the earlier checkpoint resumes', async () => {
    fault.checkpointStep = 4;
    const r = await train('ckpt');
    fault.checkpointStep = undefined;
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toBe('scion train: no space left on the device: free some disk space and run again\n');
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(JSON.parse(readFileSync(join(dir, 'ckpt', 'summary.json'), 'utf8'))).toMatchObject({ status: 'failed', stepsDone: 4 });
    expect(existsSync(join(dir, 'ckpt', 'model.safetensors'))).toBe(false);
    expect(readdirSync(join(dir, 'ckpt', 'checkpoints'))).toEqual(['step-00000002.safetensors']);

    const resumed = await train('ckpt', '--resume');
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain('step 2');
    expect(JSON.parse(readFileSync(join(dir, 'ckpt', 'summary.json'), 'utf8'))).toMatchObject({
      steps: 4,
      resumedFrom: join(dir, 'ckpt', 'checkpoints', 'step-00000002.safetensors'),
    });
  }, 60_000);
});
