// What every bench/reproduce/ script shares: its flags (--device, --seeds, --out), reading and
// checking a spec, a quiet train job, and the words the results row uses for where it ran.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deviceWords, isDeviceChoice, type DeviceChoice } from '../../backends/registry.ts';
import type { Program } from '../../grammar/ast.ts';
import { checkSource } from '../../grammar/check/check-source.ts';
import { runInheritance } from '../../jobs/inherit/inherit-model.ts';
import type { InheritDecl } from '../../grammar/ast.ts';
import { runTrainJob, type TrainJobResult } from '../../jobs/train/train-job.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ReproduceArgs {
  device: DeviceChoice;
  seeds: number[];
  /** Where the runs go (default runs/reproduce/<script>). */
  out: string;
  /** The script's own string flags (`extra`), when given. */
  more: Record<string, string | undefined>;
}

/** The script's flags (the common ones and its `extra` string flags); `defaultSeeds` when --seeds is not given. */
export function reproduceArgs(
  script: string,
  defaultSeeds: readonly number[],
  extra: readonly string[] = [],
  argv: readonly string[] = process.argv.slice(2),
): ReproduceArgs {
  const own = Object.fromEntries(extra.map((name) => [name, { type: 'string' as const }]));
  const { values } = parseArgs({
    args: [...argv],
    options: { ...own, device: { type: 'string', default: 'auto' }, seeds: { type: 'string' }, out: { type: 'string' } },
  });
  const device = values.device as string;
  if (!isDeviceChoice(device)) throw new Error(`--device ${device}: not a device (auto or a backend name)`);
  const seeds = values.seeds === undefined ? [...defaultSeeds] : values.seeds.split(',').map(Number);
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds ${values.seeds}: write integers separated by commas, e.g. 1,2,3`);
  const given = values as Record<string, string | undefined>;
  const more = Object.fromEntries(extra.map((name) => [name, given[name]]));
  return { device, seeds, out: resolve(values.out ?? resolve(ROOT, 'runs', 'reproduce', script)), more };
}

/** The command line that ran this script, as the row records it. */
export function commandLine(script: string, argv: readonly string[] = process.argv.slice(2)): string {
  return ['node --import tsx', `bench/reproduce/${script}.ts`, ...argv].join(' ');
}

/** A spec file (relative to the repository) parsed and checked; its first error is thrown. */
export function loadProgram(path: string): Program {
  return loadProgramText(readFileSync(resolve(ROOT, path), 'utf8'), path);
}

/** Spec text (of the file `path`, for messages) parsed and checked; its first error is thrown. */
export function loadProgramText(text: string, path: string): Program {
  const file = relative(ROOT, resolve(ROOT, path));
  const r = checkSource(text, file, (p) => readFileSync(resolve(ROOT, p), 'utf8'));
  const error = r.diagnostics.find((d) => d.severity === 'error');
  if (error !== undefined) throw new Error(`${path}:${error.span.start.line}: ${error.message}`);
  return { file, imports: [], decls: r.decls };
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

/** A trained language-model parent: where its checkpoint is, and what its run reported. */
export interface Parent {
  model: string;
  valLoss: number;
  /** The backend that trained it. */
  device: string;
  /** Seconds its training took; when reused, in an earlier run. */
  wallSeconds: number;
  /** True when --parent named an earlier run's checkpoint instead of training one here. */
  reused: boolean;
}

/**
 * `given` (a checkpoint whose run folder holds summary.json, e.g. from an earlier script) when set,
 * else `model` trained here at seed 1 into `<out>/parent`.
 */
export async function parentOf(program: Program, model: string, given: string | undefined, out: string, device: DeviceChoice): Promise<Parent> {
  if (given === undefined) {
    const r = await train(program, model, { outDir: join(out, 'parent'), device, seed: 1 });
    if (r.kind !== 'lm') throw new Error(`${model} is not a language model`);
    return { model: r.model, valLoss: r.summary.valLoss, device: r.summary.device, wallSeconds: r.summary.wallSeconds, reused: false };
  }
  const path = resolve(given);
  const summary = join(dirname(path), 'summary.json');
  if (!existsSync(path) || !existsSync(summary)) throw new Error(`--parent ${given}: needs the checkpoint and its run's summary.json beside it`);
  const s = JSON.parse(readFileSync(summary, 'utf8')) as { valLoss: number; device: string; wallSeconds: number };
  return { model: path, valLoss: s.valLoss, device: s.device, wallSeconds: s.wallSeconds, reused: true };
}

/** `scion inherit`'s job: the child of `program`'s only inherit declaration from `parent`, into `dir`. */
export async function inherit(program: Program, parent: string, dir: string): Promise<string> {
  const decl = program.decls.find((d): d is InheritDecl => d.kind === 'inherit');
  if (decl === undefined) throw new Error(`${program.file} has no inherit declaration`);
  mkdirSync(dir, { recursive: true });
  await runInheritance({ programs: [program], decl, cwd: ROOT, parentPath: parent, log: (l) => process.stderr.write(`  [inherit] ${l}\n`) }, dir);
  return join(dir, 'model.safetensors');
}
