// `scion export FILE --model NAME --onnx [-o OUT.onnx] [--train] [--weights W.safetensors]
// [--seed N] [--batch B] [--json]`: writes the model's forward graph (with --train: its whole
// AdamW training step) as an ONNX model (opset 17) for ONNX Runtime, Netron and the rest of the
// ecosystem. The work is jobs/export/export-onnx.ts.

import { isAbsolute, resolve } from 'node:path';
import { MappingError } from '../../compiler/presets/index.ts';
import { ExportError, exportOnnx } from '../../jobs/export/export-onnx.ts';
import { SafetensorsError } from '../../runtime/weights/index.ts';
import { nonNegativeInt, positiveInt, takeValue } from '../flags.ts';
import { EXIT, UsageError, type Command, type Io } from '../io.ts';
import { loadSpec, reportLowerError } from '../spec.ts';

const USAGE = 'usage: scion export FILE --model NAME --onnx [-o OUT.onnx] [--train] [--weights W.safetensors] [--seed N] [--batch B] [--json]';

const HELP = `${USAGE}

Writes the model as an ONNX model (opset 17, IR version 8): the forward graph, or with --train the
whole AdamW training step (its params, moments, lr and bias corrections go in, their new values and
the loss come out). Weights come from --weights, else they are drawn as \`scion init\` draws them.
Default OUT: NAME.onnx (NAME.train.onnx with --train). Weights past 1.9 GB go to OUT.onnx.data.
`;

export const run: Command = async (args: string[], io: Io): Promise<number> => {
  const opt: { model?: string; out?: string; weights?: string; seed?: number; batch?: number } = {};
  let onnx = false;
  let train = false;
  let json = false;
  const files: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const a = args[k] as string;
    if (a === '--model') opt.model = takeValue(args, k++, a, USAGE);
    else if (a === '-o' || a === '--out') opt.out = takeValue(args, k++, a, USAGE);
    else if (a === '--weights') opt.weights = takeValue(args, k++, a, USAGE);
    else if (a === '--seed') opt.seed = nonNegativeInt(takeValue(args, k++, a, USAGE), a, USAGE);
    else if (a === '--batch') opt.batch = positiveInt(takeValue(args, k++, a, USAGE), a, USAGE);
    else if (a === '--onnx') onnx = true;
    else if (a === '--train') train = true;
    else if (a === '--json') json = true;
    else if (a === '--help' || a === '-h') {
      io.out(HELP);
      return EXIT.ok;
    } else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'\n${USAGE}`);
    else files.push(a);
  }
  if (files.length !== 1 || opt.model === undefined) throw new UsageError(`need FILE and --model\n${USAGE}`);
  if (!onnx) throw new UsageError(`give the format: --onnx (the only one export writes today)\n${USAGE}`);
  const program = loadSpec(files[0] as string, io, 'export');
  if (program === undefined) return EXIT.inputError;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(io.cwd, p));
  const out = opt.out ?? `${opt.model}${train ? '.train' : ''}.onnx`;
  try {
    const r = await exportOnnx(
      program,
      {
        model: opt.model,
        train,
        ...(opt.weights === undefined ? {} : { weights: abs(opt.weights) }),
        ...(opt.seed === undefined ? {} : { seed: opt.seed }),
        ...(opt.batch === undefined ? {} : { batch: opt.batch }),
      },
      abs(out),
    );
    const summary = {
      out,
      bytes: r.bytes,
      external: r.external !== undefined,
      nodes: r.graph.nodes.length,
      inputs: r.inputs,
      outputs: r.outputs,
      params: r.params,
    };
    if (json) io.out(`${JSON.stringify(summary)}\n`);
    else
      io.out(
        `${out}: ONNX opset 17, ${opt.model}${train ? ' training step' : ''}, ${r.params.toLocaleString('en-US')} parameters, ${r.bytes.toLocaleString('en-US')} bytes${r.external === undefined ? '' : ` (weights in ${out}.data)`}\n` +
          `  inputs:  ${r.inputs.filter((n) => !n.startsWith('adam.m:') && !n.startsWith('adam.v:')).join(', ')}${train ? ', adam.m:*, adam.v:*' : ''}\n` +
          `  outputs: ${r.outputs.filter((n) => !n.startsWith('new:')).join(', ')}${train ? ', new:*' : ''}\n`,
      );
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ExportError || error instanceof MappingError || error instanceof SafetensorsError) {
      io.err(`scion export: ${error.message}\n`);
      return EXIT.inputError;
    }
    return reportLowerError(error, io);
  }
};
