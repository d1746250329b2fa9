// `scion export FILE --model NAME --onnx [-o OUT.onnx] [--train] [--weights W.safetensors]
// [--seed N] [--batch B] [--json]`: writes the model's forward graph (with --train: its whole
// training step, around its `train` declaration's loss, else the cross-entropy stand-in) as an ONNX model (opset 17) for ONNX Runtime, Netron and the rest of the
// ecosystem. The work is jobs/export/export-onnx.ts.

import { exportOnnx } from '../../jobs/export/export-onnx.ts';
import { command, commandSpec } from '../flags.ts';
import { EXIT, workProgress } from '../io.ts';
import { absolute, checkOutputFile, refuseOwnInput } from '../outputs.ts';
import { loadSpec } from '../spec.ts';

export const SPEC = commandSpec({
  name: 'export',
  about:
    "Writes the model as an ONNX model (opset 17, IR version 8): the forward graph, or with --train the whole\ntraining step (its params, AdamW moments, lr and bias corrections go in, their new values and the loss come out).\nThe loss is the one the model's `train` declaration names, as `scion train` lowers it (frozen teacher/base params are\ninputs too; the batch is the spec's unless --batch); a model without one trains on the cross-entropy of its first output\nagainst `labels`. An op ONNX cannot express (e.g. the SVD of BA-LoRA's regularizer) refuses the export.\nWeights come from --weights, else they are drawn as `scion init` draws them (--seed). Shapes are static: the\nbatch is fixed at export (--batch B, else the spec default). Default OUT: NAME.onnx (NAME.train.onnx with --train).\nWeights past 1.9 GB go to OUT.onnx.data.",
  args: { name: 'FILE', min: 1, max: 1 },
  flags: ['model', 'onnx', 'out', 'exportTrain', 'weights', 'seed', 'batch', 'json'],
  required: ['model', 'onnx'],
  placeholders: { out: 'OUT.onnx' },
});

export const run = command(SPEC, async ({ flags: { model, out: given, exportTrain: train, weights, seed, batch, json }, args: [file = ''] }, io) => {
  const abs = (p: string): string => absolute(io.cwd, p);
  const out = given ?? `${model}${train ? '.train' : ''}.onnx`;
  // Before any work: the output's folder exists, and the output is none of the inputs.
  checkOutputFile(abs(out), out);
  refuseOwnInput(abs(out), out, [abs(file), weights === undefined ? undefined : abs(weights)]);
  const program = loadSpec(file, io, 'export');
  if (program === undefined) return EXIT.inputError;
  const progress = workProgress(io, 'export', 'tensors', json);
  const r = await exportOnnx(
    program,
    {
      model,
      train,
      ...(progress === undefined ? {} : { progress: (done: number, total: number, path: string) => progress.update(done, total, path) }),
      ...(weights === undefined ? {} : { weights: abs(weights) }),
      ...(seed === undefined ? {} : { seed }),
      ...(batch === undefined ? {} : { batch }),
    },
    abs(out),
  ).finally(() => progress?.finish());
  const summary = {
    out,
    bytes: r.bytes,
    external: r.external !== undefined,
    nodes: r.graph.nodes.length,
    inputs: r.inputs,
    outputs: r.outputs,
    params: r.params,
    ...(r.loss === undefined ? {} : { loss: r.loss }),
  };
  if (json) io.out(`${JSON.stringify(summary)}\n`);
  else {
    const state = (n: string): boolean => n.startsWith('adam.m:') || n.startsWith('adam.v:') || n.startsWith('new:');
    io.out(
      `${out}: ONNX opset 17, ${model}${r.loss === undefined ? '' : ` training step (${r.loss === 'spec' ? 'its train loss' : 'cross-entropy stand-in'})`}, ${r.params.toLocaleString('en-US')} parameters, ${r.bytes.toLocaleString('en-US')} bytes${r.external === undefined ? '' : ` (weights in ${out}.data)`}\n` +
        `  inputs:  ${r.inputs.filter((n) => !state(n)).join(', ')}${train ? ', adam.m:*, adam.v:*' : ''}\n` +
        `  outputs: ${r.outputs.filter((n) => !state(n)).join(', ')}${train ? ', new:*' : ''}\n`,
    );
  }
  return EXIT.ok;
});
