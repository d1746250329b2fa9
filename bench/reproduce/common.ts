// What every bench/reproduce/ script shares: its flags (--device, --seeds, --out), reading and
// checking a spec, a quiet train job, and the words the results row uses for where it ran.

import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deviceWords, isDeviceChoice, type DeviceChoice } from '../../backends/registry.ts';
import type { Program } from '../../grammar/ast.ts';
import { checkSource } from '../../grammar/check/check-source.ts';
import { runTrainJob, type TrainJobResult } from '../../jobs/train/train-job.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ReproduceArgs {
  device: DeviceChoice;
  seeds: number[];
  /** Where the runs go (default runs/reproduce/<script>). */
  out: string;
}

/** The script's flags; `defaultSeeds` when --seeds is not given. */
export function reproduceArgs(script: string, defaultSeeds: readonly number[], argv: readonly string[] = process.argv.slice(2)): ReproduceArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: { device: { type: 'string', default: 'auto' }, seeds: { type: 'string' }, out: { type: 'string' } },
  });
  const device = values.device as string;
  if (!isDeviceChoice(device)) throw new Error(`--device ${device}: not a device (auto or a backend name)`);
  const seeds = values.seeds === undefined ? [...defaultSeeds] : values.seeds.split(',').map(Number);
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds ${values.seeds}: write integers separated by commas, e.g. 1,2,3`);
  return { device, seeds, out: resolve(values.out ?? resolve(ROOT, 'runs', 'reproduce', script)) };
}

/** The command line that ran this script, as the row records it. */
export function commandLine(script: string, argv: readonly string[] = process.argv.slice(2)): string {
  return ['node --import tsx', `bench/reproduce/${script}.ts`, ...argv].join(' ');
}

/** A spec file (relative to the repository) parsed and checked; its first error is thrown. */
export function loadProgram(path: string): Program {
  const full = resolve(ROOT, path);
  const r = checkSource(readFileSync(full, 'utf8'), relative(ROOT, full), (p) => readFileSync(resolve(ROOT, p), 'utf8'));
  const error = r.diagnostics.find((d) => d.severity === 'error');
  if (error !== undefined) throw new Error(`${path}:${error.span.start.line}: ${error.message}`);
  return { file: relative(ROOT, full), imports: [], decls: r.decls };
}

/** A finished run that wrote a whole model (not an adapter). */
export type ModelRun = Exclude<TrainJobResult, { kind: 'adapter' }>;

/** `scion train`'s job, run in this process with its log prefixed and no progress line. */
export async function train(
  program: Program,
  model: string,
  o: { outDir: string; device: DeviceChoice; seed: number; steps?: number; init?: string },
): Promise<ModelRun> {
  const r = await runTrainJob(program, model, {
    outDir: o.outDir,
    cwd: ROOT,
    seed: o.seed,
    ...(o.steps === undefined ? {} : { steps: o.steps }),
    ...(o.init === undefined ? {} : { init: o.init }),
    device: o.device,
    resume: false,
    log: (line) => process.stderr.write(`  [${model} seed ${o.seed}] ${line}\n`),
    progress: false,
  });
  if (r.kind === 'adapter') throw new Error(`${model} trains an adapter; these scripts compare whole models`);
  return r;
}

/**
 * Where the runs went, for the row: the backend that ran them and the machine's cores and load
 * (this project's machine is shared, so run times are only comparable at a similar load).
 */
export function deviceLine(backend: string, load: number = loadavg()[0] ?? 0): string {
  return `${deviceWords(backend)}, ${cpus().length} CPU cores (load ${load.toFixed(1)} at start)`;
}
