// `scion train --weights M=W`: a frozen teacher's weights from a file the user names instead of
// runs/M/model.safetensors. The check is independent of the job's bookkeeping: a student that
// starts from the very file its teacher is read from has the teacher's logits, so the first step's
// distillation loss (mse of the two) is exactly 0; from another file it is not.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { captureIo } from '../../cli/capture-io.ts';
import { trainLosses } from './run-metrics.ts';
import { mnistMlpModel } from './mnist-mlp-spec.ts';

const SPEC = `
${mnistMlpModel(16)}
model Teacher = Mlp()
train Mlp {
  data = mnist(split = "train")
  teacher = Teacher frozen
  loss = mse(logits, teacher.logits)
  optimizer = adamw(lr = 1e-3)
  steps = 2
  batch = 8
}
`;

let dir: string;

async function scion(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(dir);
  const code = await main(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scion-frozen-'));
  writeFileSync(join(dir, 'kd.scion'), SPEC);
  for (const [model, seed, out] of [
    ['Mlp', '1', 'a.safetensors'],
    ['Teacher', '2', 'b.safetensors'],
  ] as const) {
    const r = await scion(['init', 'kd.scion', '--model', model, '--seed', seed, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
  }
}, 60_000);

const train = (out: string, ...more: string[]) => scion(['train', 'kd.scion', '--device', 'reference', '--out', out, '--init', 'a.safetensors', ...more]);

describe('scion train --weights M=W (a frozen model from a named file)', () => {
  it('reads the teacher from the file named: a student started from the same file has loss 0 at step 1', async () => {
    const same = await train('same', '--weights', 'Teacher=a.safetensors');
    expect(same.code, same.stderr).toBe(0);
    expect(trainLosses(join(dir, 'same'))[0]).toBe(0);
    const other = await train('other', '--weights', 'Teacher=b.safetensors');
    expect(other.code, other.stderr).toBe(0);
    expect(trainLosses(join(dir, 'other'))[0]).toBeGreaterThan(1e-4);
  }, 60_000);

  it('without the flag, reads runs/Teacher and says how to name a file when it is not there', async () => {
    const r = await train('none');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("the teacher 'Teacher' has no weights at runs/Teacher/model.safetensors");
    expect(r.stderr).toContain('--weights Teacher=FILE');
    // One line says it (after the job's memory estimate), with no stack trace.
    expect(r.stderr.split('\n').filter((l) => l.startsWith('scion train:'))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a model the train has no frozen copy of, naming the ones it has', async () => {
    const r = await train('nope', '--weights', 'Student=b.safetensors');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("has no frozen teacher or base 'Student' (it has Teacher)");
  });

  it('refuses a missing file, naming the flag', async () => {
    const r = await train('missing', '--weights', 'Teacher=gone.safetensors');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("the teacher 'Teacher': no weights at gone.safetensors (--weights Teacher=…)");
  });

  it('asks for the model name when the flag has none', async () => {
    const r = await train('bare', '--weights', 'b.safetensors');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('name the frozen model');
  });
});
