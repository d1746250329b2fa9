// What a job needs of the machine, estimated from the lowered graph before anything is allocated,
// and the refusal when it needs more than the machine has (`--force` tries anyway). `scion init`
// and `scion train` use it; the figures come from the same lowering the job then runs, so a model
// of 1e11 parameters is refused in a second instead of swapping for minutes.
//
// Everything is counted as the host holds it: f32 values (4 B each) in typed arrays. Typed arrays
// live outside V8's heap, so its limit (v8.getHeapStatistics) does not bound them; the machine's
// free memory (os.freemem, and a cgroup's limit where one is set) does.

import { statfsSync } from 'node:fs';
import { freemem } from 'node:os';
import { dirname } from 'node:path';
import { formatBytes } from '../compiler/explain.ts';
import type { LoweredModel } from '../compiler/lower/lower-model.ts';
import type { TrainConfig } from '../compiler/lower/lower-train-config.ts';
import type { LoweredTrain } from '../compiler/lower/lower-train.ts';
import { nodeBytes } from '../compiler/lower/flops.ts';
import { checkpointPlan } from '../compiler/presets/index.ts';

/** Bytes of one f32 value: parameters, gradients, optimizer state and activations are all f32. */
const F32 = 4;

const numel = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

/** One line of an estimate: what it is, how it is counted (`15 × 4 B`) and its bytes. */
export interface Part {
  readonly what: string;
  readonly count?: string;
  readonly bytes: number;
}

/** What a job needs: memory and disk, each as its parts. */
export interface Estimate {
  /** The model, as the message names it. */
  readonly model: string;
  readonly memory: readonly Part[];
  readonly disk: readonly Part[];
}

/** What the machine has free, in bytes. */
export interface Available {
  readonly memory: number;
  readonly disk: number;
}

/** Where free memory and disk are read; tests pass a small fake one (no test allocates gigabytes). */
export interface Machine {
  /** Free memory, and free disk on the file system that holds `dir` (made or not). */
  available(dir: string): Available;
}

export const total = (parts: readonly Part[]): number => parts.reduce((s, p) => s + p.bytes, 0);

/** The file system of `dir`, or of the nearest folder above it that exists (an output folder is made later). */
function statfsAt(dir: string): { bavail: number; bsize: number } {
  for (let at = dir; ; at = dirname(at)) {
    try {
      return statfsSync(at);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(at) === at) throw error;
    }
  }
}

/** This machine: os.freemem, capped by a cgroup's memory limit less what this process uses. */
export const THIS_MACHINE: Machine = {
  available(dir) {
    let memory = freemem();
    const limit = process.constrainedMemory?.() ?? 0;
    // 0 or a huge sentinel (2^63) means no limit is set.
    if (limit > 0 && limit < 2 ** 60) memory = Math.min(memory, Math.max(0, limit - process.memoryUsage().rss));
    const fs = statfsAt(dir);
    return { memory, disk: fs.bavail * fs.bsize };
  },
};

/** `15 × 4 B` for small counts, `1.0e11 × 4 B` past a million (digits would only hide the size). */
function perValue(n: number): string {
  return `${n < 1e6 ? n.toLocaleString('en-US') : n.toExponential(1).replace('e+', 'e')} × ${F32} B`;
}

/**
 * `scion init`: the drawn parameters, plus the copies the checkpoint's layout makes (a Hugging
 * Face preset stores some weights transposed or concatenated); on disk, the tensors it writes.
 *
 * @example initEstimate(lowerModel(program, 'M')) // memory: parameters 15 × 4 B = 60 B; disk: model 60 B
 */
export function initEstimate(m: LoweredModel): Estimate {
  const params = m.params.reduce((s, p) => s + numel(p.shape), 0);
  const plan = checkpointPlan(m);
  const copies = plan.filter((e) => e.parts.length > 1 || (e.transpose && e.shape.length === 2)).reduce((s, e) => s + numel(e.shape), 0);
  const written = plan.reduce((s, e) => s + numel(e.shape), 0);
  return {
    model: m.instance.name,
    memory: [
      { what: 'parameters', count: perValue(params), bytes: params * F32 },
      ...(copies === 0 ? [] : [{ what: "the checkpoint layout's copies", bytes: copies * F32 }]),
    ],
    disk: [{ what: 'model', bytes: written * F32 }],
  };
}

/**
 * `scion train`: every parameter the step reads (student, frozen teacher or base, loss
 * projections), gradients, optimizer state (AdamW: two moments; SGD: one momentum buffer unless
 * momentum is 0) and EMA of the trainable ones, and the activations of one batch. On disk: the
 * model (and its EMA copy) and `keep` checkpoints plus the one being written before the oldest
 * goes, each holding the trainable parameters, optimizer state and EMA.
 *
 * Activations are the sum of every intermediate node of the lowered forward graph `t` (at the
 * train batch; nodeBytes, the figure `scion explain` prints per layer): an upper bound on what is
 * live at once. The compiler's memory plan would be tighter but exists only after a WebGPU
 * compile, which the CPU backends never run.
 */
export function trainEstimate(t: LoweredTrain, config: TrainConfig): Estimate {
  let params = 0;
  let activations = 0;
  for (const n of t.graph.nodes) {
    if (n.op === 'param') params += numel(n.shape);
    else activations += nodeBytes(n);
  }
  const trainable = t.trainable.reduce((s, p) => s + numel(p.shape), 0);
  const opt = config.optimizer;
  const [moments, optName] = opt.kind === 'adamw' ? [2, 'AdamW moments'] : [opt.momentum === 0 ? 0 : 1, 'SGD momentum'];
  const ema = config.ema === undefined ? 0 : trainable;
  const saved = t.adapter === undefined ? t.student.params.reduce((s, p) => s + numel(p.shape), 0) : trainable;
  const checkpoint = (trainable * (1 + moments) + ema) * F32;
  const kept = config.checkpoint.keep + 1;
  const part = (what: string, bytes: number): Part[] => (bytes === 0 ? [] : [{ what, bytes }]);
  return {
    model: t.student.instance.name,
    memory: [
      { what: 'parameters', count: perValue(params), bytes: params * F32 },
      ...part('gradients', trainable * F32),
      ...part(optName, moments * trainable * F32),
      ...part('EMA', ema * F32),
      { what: `activations (batch ${config.batch})`, bytes: activations },
    ],
    disk: [
      { what: t.adapter === undefined ? 'model' : 'adapter', bytes: saved * F32 },
      ...part('EMA model', config.ema === undefined ? 0 : saved * F32),
      { what: `${kept} checkpoints`, bytes: kept * checkpoint },
    ],
  };
}

/** One figure and its parts: `~120 B of memory (parameters 15 × 4 B = 60 B, gradients 60 B)`. */
function figure(parts: readonly Part[], of: string): string {
  const each = parts.map((p) => `${p.what} ${p.count === undefined ? '' : `${p.count} = `}${formatBytes(p.bytes)}`);
  return `~${formatBytes(total(parts))} of ${of} (${each.join(', ')})`;
}

/** The job needs more memory or disk than the machine has free; `--force` runs it anyway. */
export class NotEnoughResources extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotEnoughResources';
  }
}

/** The estimate on one line: `model M needs ~X of memory (…) and ~Y of disk (…)`. */
export function describeEstimate(e: Estimate): string {
  return `model ${e.model} needs ${figure(e.memory, 'memory')} and ${figure(e.disk, 'disk')}`;
}

/**
 * Refuses (NotEnoughResources) a job whose estimate exceeds the free memory or the free disk at
 * `shown` (the output folder as the user wrote it), unless `force`. Returns whether it fits and
 * the line to log: the estimate and the machine, with a warning when --force runs it anyway.
 */
export function checkResources(e: Estimate, have: Available, shown: string, force: boolean): { fits: boolean; line: string } {
  const fits = total(e.memory) <= have.memory && total(e.disk) <= have.disk;
  const machine = `this machine has ${formatBytes(have.memory)} free memory and ${formatBytes(have.disk)} free disk at ${shown}`;
  if (!fits && !force) throw new NotEnoughResources(`${describeEstimate(e)}; ${machine} — pass --force to try anyway`);
  return { fits, line: `${describeEstimate(e)}; ${machine}${fits ? '' : ' — trying anyway (--force)'}` };
}
