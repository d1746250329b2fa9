// `scion init FILE --model NAME [--seed N] -o OUT.safetensors`: draw a model's parameters with its
// family's init rules, write them under the preset's checkpoint names (Hugging Face layouts for
// llama/gpt2, DiT's own names, …) and a config.json beside the file when the model has a preset.

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sampleInit } from '../../compiler/layers/init.ts';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import { checkpointPlan, toCheckpoint, writeConfig, type HostTensor } from '../../compiler/presets/index.ts';
import { checkResources, initEstimate, THIS_MACHINE } from '../../jobs/resources.ts';
import { writeSafetensors, type TensorToWrite } from '../../runtime/weights/index.ts';
import { command, commandSpec } from '../flags.ts';
import { EXIT, workProgress } from '../io.ts';
import { loadSpec } from '../spec.ts';
import { absolute, checkOutputFile, refuseOwnInput } from '../outputs.ts';

export const SPEC = commandSpec({
  name: 'init',
  about: `Initializes a model's parameters with its family's rules into a safetensors file (with config.json beside it when the model has a preset).
It first estimates the memory and disk this needs and refuses, naming the figures, when this machine has less free (--force: try anyway).`,
  args: { name: 'FILE', min: 1, max: 1 },
  flags: ['model', 'seed', 'force', 'out'],
  required: ['model', 'out'],
  placeholders: { out: 'OUT.safetensors' },
});

export const run = command(SPEC, async ({ flags: { model, out, seed = 0, force }, args: [file = ''] }, io) => {
  const path = absolute(io.cwd, out);
  checkOutputFile(path, out);
  refuseOwnInput(path, out, [absolute(io.cwd, file)]);
  const program = loadSpec(file, io, 'init');
  if (program === undefined) return EXIT.inputError;
  const lowered = lowerModel(program, model);
  // Before any parameter is drawn: refused here, a model of 1e11 parameters never starts allocating.
  const fit = checkResources(initEstimate(lowered), (io.machine ?? THIS_MACHINE).available(dirname(path)), dirname(out), force);
  if (!fit.fits) io.err(`scion init: warning: ${fit.line}\n`);
  const progress = workProgress(io, 'init', 'tensors');
  const params = new Map<string, HostTensor>(
    lowered.params.map((p, i) => {
      const data = sampleInit(
        p.init,
        p.shape.reduce((x, y) => x * y, 1),
        seed,
        p.path,
      );
      progress?.update(i + 1, lowered.params.length, p.path);
      return [p.path, { shape: p.shape, data }];
    }),
  );
  progress?.finish();
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of toCheckpoint(checkpointPlan(lowered), params)) tensors.set(name, { dtype: 'F32', shape: t.shape, data: t.data });
  const preset = lowered.instance.preset;
  await writeSafetensors(path, tensors, { format: 'pt', scion_model: model, ...(preset === undefined ? {} : { scion_preset: preset }) });
  if (preset !== undefined) writeFileSync(join(dirname(path), 'config.json'), `${JSON.stringify(writeConfig(preset, lowered), null, 2)}\n`);
  const count = lowered.params.reduce((p, q) => p + q.shape.reduce((x, y) => x * y, 1), 0);
  io.out(
    `${out}: ${tensors.size} tensors, ${count.toLocaleString('en-US')} parameters (seed ${seed}${preset === undefined ? '' : `, ${preset} names, config.json beside it`})\n`,
  );
  return EXIT.ok;
});
