// Preparing an example job for `scion train`: every kind of spec besides a plain language model
// (train-lm.ts runs those) — diffusion on images, classification (images, or Brown windows
// labelled by genre), and language models trained in multiple `rounds`. It reads the spec's
// fields the compiler's trainConfig does not (rounds), decides the task from the loss and data,
// loads frozen teacher/base weights and an optional initial checkpoint (`--init`, e.g. `scion
// inherit -o DIR`), and builds the ExampleTrainPlan train-examples.ts runs.

import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Expr, Program, Span, TrainDecl } from '../../grammar/ast.ts';
import { gradName } from '../../compiler/autodiff/grad.ts';
import { sampleInit } from '../../compiler/layers/init.ts';
import { LowerError } from '../../grammar/eval/errors.ts';
import { calleeOf, constExpr, dataSpec, findTrain, trainConfig, type DataSpec, type TrainConfig } from '../../compiler/lower/lower-train-config.ts';
import { planSettings } from './train-loop.ts';
import { lowerTrain, type LoweredTrain } from '../../compiler/lower/lower-train.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { openSafetensors, SafetensorsError } from '../../runtime/weights/index.ts';
import { loadWeights } from '../weights/load-weights.ts';
import { adapterStart, type AdapterStart } from './adapter-weights.ts';
import { JobError } from './errors.ts';
import { DROPOUT_KEY, taskData, type TaskDataOptions } from './example-task-data.ts';
import type { RoundsSpec } from './round-batches.ts';
import type { ExampleTrainPlan, TaskKind } from './train-examples.ts';

/** `rounds = { count, sample = 0.5, weight = softmax(loss) }`, or undefined without the field. */
export function roundsSpec(decl: TrainDecl): RoundsSpec | undefined {
  const f = decl.fields.find((x) => x.key === 'rounds');
  if (f === undefined) return undefined;
  if (f.value.kind !== 'record')
    throw new LowerError('E0905', '`rounds` must be a record like { count = 2, sample = 0.5, weight = softmax(loss) }', f.value.span);
  const r = new Map(f.value.fields.map((x) => [x.key, x.value]));
  const num = (k: string, dflt: number): number => {
    const e = r.get(k);
    const v = e === undefined ? dflt : constExpr(e);
    if (typeof v !== 'number') throw new LowerError('E0406', `rounds' \`${k}\` must be a number`, e?.span ?? f.value.span);
    return v;
  };
  return { count: num('count', 1), sample: num('sample', 0.5), temperature: roundTemperature(r.get('weight'), f.value.span) };
}

/** softmax(loss) → τ = 1, softmax(loss / τ) → τ; uniform → a τ so large the draw ignores the losses. */
function roundTemperature(e: Expr | undefined, span: Span): number {
  if (e === undefined) return 1;
  if (e.kind === 'ref' && e.path.length === 1 && e.path[0]?.kind === 'name' && e.path[0].name === 'uniform') return 1e12;
  if (e.kind === 'call' && calleeOf(e) === 'uniform') return 1e12;
  if (e.kind === 'call' && calleeOf(e) === 'softmax') {
    const a = e.args[0]?.value;
    if (a?.kind === 'ref' && a.path.length === 1 && a.path[0]?.kind === 'name' && a.path[0].name === 'loss') return 1;
    if (a?.kind === 'binary' && a.op === '/' && a.left.kind === 'ref') {
      const t = constExpr(a.right);
      if (typeof t === 'number' && t > 0) return t;
    }
  }
  throw new LowerError('E0904', 'rounds weight this version runs: softmax(loss), softmax(loss / τ) or uniform', e.span ?? span);
}

/** The train config without `rounds` (trainConfig refuses it; roundsSpec reads it). */
export function trainConfigOf(decl: TrainDecl, program: Program): TrainConfig {
  return trainConfig({ ...decl, fields: decl.fields.filter((f) => f.key !== 'rounds') }, program);
}

/**
 * The checkpoint an adapter's base weights come from: `--init`, else the parent of `inherit M
 * from P at "…"` (relative to the working folder), else runs/M/model.safetensors.
 */
export function adapterBasePath(program: Program, on: string, init: string | undefined, cwd: string): string {
  if (init !== undefined) return init;
  const inh = program.decls.find((d) => d.kind === 'inherit' && d.child.name === on);
  if (inh?.kind === 'inherit') return resolve(cwd, inh.at.value);
  return resolve(cwd, 'runs', on, 'model.safetensors');
}

/** The task a spec trains: diffusion loss → diffusion; a `label` input → classification; else LM. */
export function taskKind(t: LoweredTrain): TaskKind {
  if (t.terms.some((x) => x.callee === 'diffusion')) return 'diffusion';
  if (t.data.some((d) => d.name === 'label')) return 'classification';
  return 'lm';
}

/**
 * Frozen teacher/base weights, fed as `<prefix><path>`: from `given` (model name → file,
 * `--weights M=W`) where it names the model, else runs/<Model>/model.safetensors.
 */
export async function loadFrozen(lowered: LoweredTrain, cwd: string, given: ReadonlyMap<string, string> = new Map()): Promise<Map<string, Tensor>> {
  const names = lowered.frozen.map((f) => f.model.instance.name);
  for (const name of given.keys())
    if (!names.includes(name))
      throw new JobError(
        `--weights ${name}=…: \`train ${lowered.student.instance.name}\` has no frozen teacher or base '${name}' (${names.length === 0 ? 'it has none' : `it has ${names.join(', ')}`})`,
      );
  const frozen = new Map<string, Tensor>();
  for (const f of lowered.frozen) {
    const name = f.model.instance.name;
    const named = given.get(name);
    const path = named ?? resolve(cwd, 'runs', name, 'model.safetensors');
    let reader;
    try {
      reader = await openSafetensors(path);
    } catch (error) {
      // There but unreadable (truncated, not safetensors, a directory): say that, not "train it first".
      if (error instanceof SafetensorsError && error.code !== 'io') throw new JobError(`the ${f.role} '${name}': ${error.message}`);
      throw new JobError(
        named !== undefined
          ? `the ${f.role} '${name}': no weights at ${relative(cwd, path) || path} (--weights ${name}=…)`
          : `the ${f.role} '${name}' has no weights at ${relative(cwd, path)}: train it first (scion train FILE --model ${name}), or pass --weights ${name}=FILE`,
      );
    }
    try {
      for (const [p, t] of await loadWeights(f.model, reader)) frozen.set(`${f.prefix}${p}`, { dtype: 'f32', shape: t.shape, data: t.data });
    } finally {
      await reader.close();
    }
  }
  return frozen;
}

/**
 * Initial trainable values: seeded inits, replaced by the tensors of `init` (a checkpoint under the
 * model's preset names, e.g. from `scion inherit -o DIR`) when given. Every student parameter must
 * be in it (the mapping names what is missing); loss-owned parameters keep their init.
 */
/** A trainable parameter's values drawn by its init rule, seeded by the run's seed and its path. */
function seededInit(p: LoweredTrain['trainable'][number], seed: number): Float32Array {
  return sampleInit(
    p.init,
    p.shape.reduce((a, d) => a * d, 1),
    seed,
    p.path,
  );
}

export async function initialWeights(lowered: LoweredTrain, seed: number, init: string | undefined): Promise<Map<string, Float32Array>> {
  const initial = new Map(lowered.trainable.map((p) => [p.path, seededInit(p, seed)]));
  if (init === undefined) return initial;
  let reader;
  try {
    reader = await openSafetensors(init);
  } catch (error) {
    // A SafetensorsError's message starts with the path already.
    throw new JobError(error instanceof SafetensorsError ? `--init: ${error.message}` : `--init ${init}: ${(error as Error).message}`);
  }
  try {
    for (const [p, t] of await loadWeights(lowered.student, reader)) {
      const mine = initial.get(p);
      if (mine !== undefined) mine.set(t.data);
    }
  } finally {
    await reader.close();
  }
  return initial;
}

/**
 * The checkpoint to start from: `--init` when given; else, for a model the spec inherits, the
 * output of `scion inherit -o <out>` (model.safetensors beside provenance.json) when it is there.
 */
export function initPath(program: Program, model: string, outDir: string, given: string | undefined): string | undefined {
  if (given !== undefined) return given;
  const inherits = program.decls.some((d) => d.kind === 'inherit' && d.child.name === model);
  const path = join(outDir, 'model.safetensors');
  return inherits && existsSync(join(outDir, 'provenance.json')) && existsSync(path) ? path : undefined;
}

export interface ExampleJob {
  lowered: LoweredTrain;
  config: TrainConfig;
  plan: ExampleTrainPlan;
  initFrom: string | undefined;
  /** Adapter targets: the frozen base and the adapter's starting factors. */
  adapter?: AdapterStart;
}

/** Whether `scion train` should run this declaration through the example job (not train-lm). */
export function needsExampleJob(program: Program, model: string): boolean {
  const decl = findTrain(program, model);
  if (decl === undefined) return false;
  if (decl.fields.some((f) => f.key === 'rounds')) return true;
  const data = decl.fields.find((f) => f.key === 'data');
  if (data === undefined) return false;
  const d = dataSpec(data.value, new Map(program.decls.flatMap((x) => (x.kind === 'binding' ? [[x.name.name, x.value] as const] : []))));
  return d.source === 'mnist' || d.source === 'images' || String(d.args['task'] ?? 'lm') !== 'lm';
}

/** What `val` reads: the spec's eval data, else the held-out split of its training source (mnist's is `test`). */
export function valDataOf(config: TrainConfig): DataSpec {
  return config.eval?.data ?? { ...config.data, args: { ...config.data.args, split: config.data.source === 'mnist' ? 'test' : 'val' } };
}

export interface PrepareOptions extends TaskDataOptions {
  steps?: number;
  /** Replaces the spec's `seed`. */
  seed?: number;
  init?: string;
  /** Frozen teachers' and bases' weights by model name (loadFrozen). */
  frozen?: ReadonlyMap<string, string>;
}

/** Compiles the declaration and loads data, frozen and initial weights for trainExamples. */
export async function prepareExampleJob(program: Program, model: string, o: PrepareOptions): Promise<ExampleJob> {
  const decl = findTrain(program, model);
  if (decl === undefined) throw new JobError(`the spec has no \`train ${model}\` declaration`);
  const config = trainConfigOf(decl, program);
  if (o.steps !== undefined) config.steps = o.steps;
  if (o.seed !== undefined) config.seed = o.seed;
  const rounds = roundsSpec(decl);
  const lowered = lowerTrain(program, model, { batch: config.batch });
  const kind = taskKind(lowered);
  const valData = valDataOf(config);
  const ad = lowered.adapter;
  const basePath = ad === undefined ? undefined : adapterBasePath(program, ad.model.adapter.on, o.init, o.cwd);
  // A fine-tuned model reads the tokens its base was trained on: the tokenizer beside its weights.
  const baseTok = basePath === undefined ? undefined : join(dirname(basePath), 'tokenizer.json');
  const tokenizer = config.tokenizer === undefined && baseTok !== undefined && existsSync(baseTok) ? baseTok : undefined;
  const { feeder, train, val, unit, itemsPerExample, logitsOutput } = await taskData(
    kind,
    lowered,
    tokenizer === undefined ? config : { ...config, tokenizer },
    valData,
    o,
  );
  const initFrom = basePath ?? initPath(program, model, o.outDir, o.init);
  const start = ad === undefined || basePath === undefined ? undefined : await adapterStart(ad.model, ad.fresh, basePath, config.seed, o.cwd);
  if (ad !== undefined && start !== undefined) {
    const n = (paths: readonly string[]): number => paths.reduce((s, p) => s + (start.initial.get(p)?.length ?? 0), 0);
    o.log(
      `adapter ${ad.model.adapter.name} on ${ad.model.adapter.on}: ${ad.model.sites.length} LoRA sites (rank ${ad.model.adapter.rank}, alpha ${ad.model.adapter.alpha}), A and B from ${start.adapterOrigin}`,
    );
    o.log(
      `trainable: ${n(ad.model.adapterParams.filter((p) => p.trainable).map((p) => p.path)).toLocaleString('en-US')} adapter values${ad.fresh.length === 0 ? '' : ` + ${n(ad.fresh).toLocaleString('en-US')} in ${ad.fresh.join(', ')} (new: the inherit's \`except\`)`}; every other weight frozen`,
    );
    if (start.ignored.length > 0) o.log(`base checkpoint tensors the model does not use: ${start.ignored.join(', ')}`);
  }
  const evalTerm = lowered.terms.find((t) => t.callee === (kind === 'diffusion' ? 'diffusion' : 'cross_entropy'));
  const plan: ExampleTrainPlan = {
    kind,
    graph: lowered.graph,
    // Validation and round scoring run forward only: without it they ran the whole training graph
    // (backward included) to read the loss.
    evalGraph: lowerTrain(program, model, { batch: config.batch, grads: false, dropout: false }).graph,
    ...(lowered.student.inputs.some((i) => i.name === DROPOUT_KEY) ? { dropoutKey: DROPOUT_KEY } : {}),
    trainable: lowered.trainable.map((p) => ({ path: p.path, shape: p.shape, grad: gradName(p.path) })),
    initial: start === undefined ? await initialWeights(lowered, config.seed, initFrom) : withLossParams(lowered, start.initial, config.seed),
    frozen: start === undefined ? await loadFrozen(lowered, o.cwd, o.frozen) : new Map([...start.frozen, ...(await loadFrozen(lowered, o.cwd, o.frozen))]),
    weights: lowered.weights,
    evalOutput: evalTerm?.output ?? 'loss',
    ...(logitsOutput === undefined ? {} : { logitsOutput }),
    feeder,
    train,
    val,
    batch: config.batch,
    itemsPerExample,
    unit,
    ...planSettings(config),
    ...(rounds === undefined ? {} : { rounds }),
  };
  o.log(`data: ${train.count.toLocaleString('en-US')} training and ${val.count.toLocaleString('en-US')} validation examples (${kind})`);
  return { lowered, config, plan, initFrom, ...(start === undefined ? {} : { adapter: start }) };
}

/** Adapter starts plus the seeded init of any loss-owned parameter (feature_kd projections). */
function withLossParams(t: LoweredTrain, initial: ReadonlyMap<string, Float32Array>, seed: number): Map<string, Float32Array> {
  const out = new Map(initial);
  for (const p of t.trainable) if (!out.has(p.path)) out.set(p.path, seededInit(p, seed));
  return out;
}
