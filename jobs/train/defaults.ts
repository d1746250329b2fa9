// What `scion train`, `generate`, `eval` and `sample` assume when the user does not say: the
// default spec, the model a spec trains, and the run folder a model's files land in.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Program } from '../../grammar/ast.ts';
import { findTrain } from '../../compiler/lower/lower-train-config.ts';

/** The spec `scion train` runs without FILE: a tiny llama on the Brown corpus. */
export const DEFAULT_SPEC = fileURLToPath(new URL('../../specs/default.scion', import.meta.url));

/** The model a spec trains: `model` when given, else the first `train` declaration's target. */
export function trainedModel(program: Program, model: string | undefined): string | undefined {
  return model ?? findTrain(program)?.target.name;
}

/** runs/<model> under the working folder. */
export function defaultOutDir(cwd: string, model: string): string {
  return resolve(cwd, 'runs', model);
}
