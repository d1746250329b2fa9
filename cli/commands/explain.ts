// `scion explain FILE [--model NAME] [--batch B] [--json]`: per-layer parameters, shapes, FLOPs
// and activation memory of each model (or the one named), with totals and the embedding share.

import type { Program } from '../../grammar/ast.ts';
import { explainModel, formatReport, type ModelReport } from '../../compiler/explain.ts';
import { command, commandSpec } from '../flags.ts';
import { EXIT } from '../io.ts';
import { loadSpec } from '../spec.ts';

export const SPEC = commandSpec({
  name: 'explain',
  about: 'Per-layer parameter paths and shapes, parameter counts, FLOPs and activation memory of each model (or the one --model names).',
  args: { name: 'FILE', min: 1, max: 1 },
  flags: ['model', 'batch', 'json'],
});

export function modelNamesOf(program: Program): string[] {
  return program.decls.filter((d) => d.kind === 'model' || d.kind === 'derived').map((d) => d.name.name);
}

function reportJson(r: ModelReport): object {
  return {
    name: r.name,
    preset: r.preset,
    params: r.params,
    trainableParams: r.trainableParams,
    embeddingParams: r.embeddingParams,
    flops: r.flops,
    activationBytes: r.activationBytes,
    inputs: r.inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape })),
    outputs: r.outputs,
    layers: r.layers.map((l) => ({
      path: l.path,
      kind: l.callee,
      shape: l.shape,
      params: l.params,
      flops: l.flops,
      activationBytes: l.activationBytes,
      tensors: l.tensors,
    })),
  };
}

export const run = command(SPEC, async ({ flags: { model, batch = 1, json }, args: [file = ''] }, io) => {
  const program = loadSpec(file, io, 'explain');
  if (program === undefined) return EXIT.inputError;
  const names = model === undefined ? modelNamesOf(program) : [model];
  const reports: ModelReport[] = [];
  for (const name of names) reports.push(explainModel(program, name, { dims: { batch } }));
  if (json) io.out(`${JSON.stringify({ models: reports.map(reportJson) })}\n`);
  else io.out(reports.map((r) => formatReport(r)).join('\n'));
  return EXIT.ok;
});
