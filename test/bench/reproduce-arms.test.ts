// The other arms of the results rows (bench/reproduce/common.ts): a spec's train block edited into
// "from scratch" (no teacher, the loss's first term) or "checkpoint every K", checked by compiling
// the edited spec; and a run's weights at a checkpoint, which must equal the model the run saved
// when the checkpoint is its last step.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTrain, trainConfig } from '../../compiler/lower/lower-train-config.ts';
import { lowerTrain } from '../../compiler/lower/lower-train.ts';
import { everyCheckpoint, loadProgramText, replaceIn, train, weightsAtCheckpoint, withTrainBlock } from '../../bench/reproduce/common.ts';
import { checkpointPath } from '../../runtime/train/checkpoint.ts';
import { openSafetensors } from '../../runtime/weights/index.ts';
import { mnistMlpModel } from '../jobs/train/mnist-mlp-spec.ts';

const scratchOf = (b: string) => replaceIn(replaceIn(b, /^\s*teacher = .*\n/m, ''), /^(\s*loss = )(diffusion\([^)]*\)).*$/m, '$1$2');

describe('withTrainBlock', () => {
  it("makes LiT's scratch arm: no teacher, the diffusion loss alone, every checkpoint kept", () => {
    const p = withTrainBlock('specs/lit.scion', 'LiT', (b) => everyCheckpoint(scratchOf(b), 500, 2000));
    const decl = findTrain(p, 'LiT');
    if (decl === undefined) throw new Error('no train LiT');
    expect(decl.fields.some((f) => f.key === 'teacher')).toBe(false);
    const lowered = lowerTrain(p, 'LiT', { batch: 2 });
    expect(lowered.frozen).toHaveLength(0);
    expect(lowered.terms.map((t) => t.callee)).toEqual(['diffusion']);
    expect(trainConfig(decl, p).checkpoint).toEqual({ every: 500, keep: 5 });
    // The other blocks are untouched: the DiT still trains with its own checkpoints.
    const dit = findTrain(p, 'DiT');
    if (dit === undefined) throw new Error('no train DiT');
    expect(trainConfig(dit, p).checkpoint.every).toBe(250);
  });

  it("keeps the recipe's teacher and every loss term when only checkpoints change", () => {
    const p = withTrainBlock('specs/a-sdm.scion', 'SmallUNet', (b) => everyCheckpoint(b, 100, 1000));
    const lowered = lowerTrain(p, 'SmallUNet', { batch: 2 });
    expect(lowered.frozen.map((f) => f.model.instance.name)).toEqual(['UNet']);
    expect(lowered.terms.map((t) => t.callee)).toEqual(['diffusion', 'mse', 'feature_kd']);
  });

  it('stops on a block whose shape changed instead of running the wrong arm', () => {
    expect(() => replaceIn('train X {\n  loss = mse(a, b)\n}', /^\s*teacher = .*\n/m, '')).toThrow(/expected/);
    expect(() => withTrainBlock('specs/lit.scion', 'Nobody', (b) => b)).toThrow(/no `train Nobody \{` block/);
  });
});

const TINY = `
${mnistMlpModel(8)}
train Mlp {
  data = mnist(split = "train")
  loss = cross_entropy(logits, label)
  optimizer = adamw(lr = 1e-2)
  steps = 3
  batch = 8
  checkpoint = { every = 1, keep = 5 }
}
`;

describe('weightsAtCheckpoint', () => {
  it("writes the checkpoint's parameters under the model's names: at the last step, the run's own model", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-arms-'));
    const program = loadProgramText(TINY, join(dir, 'tiny.scion'));
    const run = await train(program, 'Mlp', { outDir: join(dir, 'run'), device: 'reference', seed: 1 });
    const at = async (step: number) =>
      weightsAtCheckpoint(program, 'Mlp', checkpointPath(join(dir, 'run', 'checkpoints'), step), join(dir, `w${step}.safetensors`));
    const read = async (path: string): Promise<Map<string, number[]>> => {
      const r = await openSafetensors(path);
      try {
        const out = new Map<string, number[]>();
        for (const name of r.tensors.keys()) out.set(name, Array.from((await r.read(name)) as ArrayLike<number>));
        return out;
      } finally {
        await r.close();
      }
    };
    const saved = await read(run.model);
    expect([...saved.keys()].sort()).toEqual(['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    expect(await read(await at(3))).toEqual(saved);
    // An earlier step's weights differ (the run moved them).
    expect((await read(await at(1))).get('fc2.bias')).not.toEqual(saved.get('fc2.bias'));
  }, 60_000);
});
