// `scion explain FILE [--model NAME] [--batch B] [--json]`: per-layer parameters, shapes, FLOPs
// and activation memory of each model (or the one named), with totals and the embedding share.

import type { Program } from '../../grammar/ast.ts';
import { explainModel, formatReport, type ModelReport } from '../../compiler/explain.ts';
import { positiveInt, takeValue } from '../flags.ts';
import { EXIT, UsageError, type Command, type Io } from '../io.ts';
import { loadSpec, reportLowerError } from '../spec.ts';

const USAGE = 'usage: scion explain FILE [--model NAME] [--batch B] [--json]';

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

export const run: Command = async (args: string[], io: Io): Promise<number> => {
  let json = false;
  let model: string | undefined;
  let batch = 1;
  const files: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const a = args[k] as string;
    if (a === '--json') json = true;
    else if (a === '--model') model = takeValue(args, k++, a, USAGE);
    else if (a === '--batch') batch = positiveInt(takeValue(args, k++, a, USAGE), a, USAGE);
    else if (a === '--help' || a === '-h') {
      io.out(`${USAGE}\n\nPer-layer parameter paths and shapes, parameter counts, FLOPs and activation memory of each model.\n`);
      return EXIT.ok;
    } else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'\n${USAGE}`);
    else files.push(a);
  }
  if (files.length !== 1) throw new UsageError(`give exactly one spec file\n${USAGE}`);
  const program = loadSpec(files[0] as string, io, 'explain');
  if (program === undefined) return EXIT.inputError;
  const names = model === undefined ? modelNamesOf(program) : [model];
  const reports: ModelReport[] = [];
  try {
    for (const name of names) reports.push(explainModel(program, name, { dims: { batch } }));
  } catch (error) {
    return reportLowerError(error, io);
  }
  if (json) io.out(`${JSON.stringify({ models: reports.map(reportJson) })}\n`);
  else io.out(reports.map((r) => formatReport(r)).join('\n'));
  return EXIT.ok;
};
