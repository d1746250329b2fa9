// `scion init FILE --model NAME [--seed N] -o OUT.safetensors`: draw a model's parameters with its
// family's init rules, write them under the preset's checkpoint names (Hugging Face layouts for
// llama/gpt2, DiT's own names, …) and a config.json beside the file when the model has a preset.

import { writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { sampleInit } from '../../compiler/layers/init.ts';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import { checkpointPlan, toCheckpoint, writeConfig, type HostTensor } from '../../compiler/presets/index.ts';
import { writeSafetensors, type TensorToWrite } from '../../runtime/weights/index.ts';
import { takeValue } from '../flags.ts';
import { EXIT, UsageError, type Command, type Io } from '../io.ts';
import { loadSpec, reportLowerError } from '../spec.ts';

const USAGE = 'usage: scion init FILE --model NAME [--seed N] -o OUT.safetensors';

export const run: Command = async (args: string[], io: Io): Promise<number> => {
  let model: string | undefined;
  let out: string | undefined;
  let seed = 0;
  const files: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const a = args[k] as string;
    if (a === '--model') model = takeValue(args, k++, a, USAGE);
    else if (a === '-o' || a === '--out') out = takeValue(args, k++, a, USAGE);
    else if (a === '--seed') {
      const s = Number(takeValue(args, k++, a, USAGE));
      if (!Number.isInteger(s) || s < 0) throw new UsageError(`--seed must be a non-negative integer\n${USAGE}`);
      seed = s;
    } else if (a === '--help' || a === '-h') {
      io.out(`${USAGE}\n\nInitializes a model's parameters with its family's rules into a safetensors file.\n`);
      return EXIT.ok;
    } else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'\n${USAGE}`);
    else files.push(a);
  }
  if (files.length !== 1 || model === undefined || out === undefined) throw new UsageError(`need FILE, --model and -o\n${USAGE}`);
  const program = loadSpec(files[0] as string, io, 'init');
  if (program === undefined) return EXIT.inputError;
  let lowered;
  try {
    lowered = lowerModel(program, model);
  } catch (error) {
    return reportLowerError(error, io);
  }
  const params = new Map<string, HostTensor>(
    lowered.params.map((p) => [
      p.path,
      {
        shape: p.shape,
        data: sampleInit(
          p.init,
          p.shape.reduce((x, y) => x * y, 1),
          seed,
          p.path,
        ),
      },
    ]),
  );
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of toCheckpoint(checkpointPlan(lowered), params)) tensors.set(name, { dtype: 'F32', shape: t.shape, data: t.data });
  const path = isAbsolute(out) ? out : resolve(io.cwd, out);
  const preset = lowered.instance.preset;
  await writeSafetensors(path, tensors, { format: 'pt', scion_model: model, ...(preset === undefined ? {} : { scion_preset: preset }) });
  if (preset !== undefined) writeFileSync(join(dirname(path), 'config.json'), `${JSON.stringify(writeConfig(preset, lowered), null, 2)}\n`);
  const count = lowered.params.reduce((p, q) => p + q.shape.reduce((x, y) => x * y, 1), 0);
  io.out(
    `${out}: ${tensors.size} tensors, ${count.toLocaleString('en-US')} parameters (seed ${seed}${preset === undefined ? '' : `, ${preset} names, config.json beside it`})\n`,
  );
  return EXIT.ok;
};
