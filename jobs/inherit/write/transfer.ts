// Executing a checkpoint-space plan: each child tensor is produced when the writer reaches it —
// one parent tensor read by offset, index-selected, written, dropped — so memory stays near the
// largest single tensor whatever the checkpoint's size. Fresh tensors are drawn with the family
// init from (seed, path), so a replay draws the same values.

import { sampleInit } from '../../../compiler/layers/init.ts';
import { toCheckpoint, type HostTensor } from '../../../compiler/presets/mapping.ts';
import { writeSafetensors, type SafetensorsReader, type TensorToWrite } from '../../../runtime/weights/index.ts';
import type { CheckpointTensorPlan } from './checkpoint.ts';
import { InheritError } from '../layout/layout.ts';
import { selectAxes } from '../tensor-ops.ts';

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** The parent tensor an entry reads (its preset name, or a tied/unprefixed fallback present in the file). */
export function resolveParentName(t: CheckpointTensorPlan, reader: SafetensorsReader): string | undefined {
  if (t.source.kind !== 'parent') return undefined;
  return [t.source.parent, ...t.source.parentFallbacks].find((n) => reader.tensors.has(n));
}

/** Checks every parent tensor exists with a shape the kept indices fit, before anything is read. */
export function checkAgainstParent(plans: readonly CheckpointTensorPlan[], reader: SafetensorsReader): void {
  const problems: string[] = [];
  for (const t of plans) {
    if (t.source.kind !== 'parent') continue;
    const name = resolveParentName(t, reader);
    if (name === undefined) {
      problems.push(`${reader.path}: no tensor '${t.source.parent}' (needed for '${t.name}')`);
      continue;
    }
    const info = reader.tensors.get(name)!;
    if (info.shape.length !== t.shape.length) {
      problems.push(`${reader.path}: '${name}' is [${info.shape.join(', ')}], rank ${t.shape.length} expected for '${t.name}'`);
      continue;
    }
    t.source.keep.forEach((k, a) => {
      const n = info.shape[a] as number;
      const want = t.shape[a] as number;
      if (k === null && n !== want) problems.push(`${reader.path}: '${name}' has ${n} on axis ${a}, '${t.name}' needs ${want}`);
      if (k !== null && k.some((i) => i >= n)) problems.push(`${reader.path}: '${name}' has ${n} on axis ${a}, but index ${Math.max(...k)} is kept`);
    });
    if (!['F32', 'F16', 'BF16', 'F64'].includes(info.dtype)) problems.push(`${reader.path}: '${name}' is ${info.dtype}; only float tensors are inherited`);
  }
  if (problems.length > 0) throw new InheritError(problems);
}

/** Produces one child tensor's values (in checkpoint layout). */
export async function materialize(t: CheckpointTensorPlan, reader: SafetensorsReader): Promise<Float32Array> {
  const s = t.source;
  if (s.kind === 'init') {
    const params = new Map<string, HostTensor>(s.parts.map((p) => [p.path, { shape: p.shape, data: sampleInit(p.init, numel(p.shape), s.seed, p.path) }]));
    const entry = {
      hf: t.name,
      parts: s.parts.map((p) => ({ path: p.path, shape: p.shape })),
      axis: s.axis,
      transpose: s.transpose,
      shape: t.shape,
      readFallbacks: [],
    };
    return toCheckpoint([entry], params).get(t.name)!.data;
  }
  const name = resolveParentName(t, reader);
  if (name === undefined) throw new InheritError([`${reader.path}: no tensor '${s.parent}'`]);
  const info = reader.tensors.get(name)!;
  const raw = await reader.read(name);
  const data = raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>);
  return selectAxes({ shape: info.shape, data }, s.keep).data;
}

export interface WriteProgress {
  (done: number, total: number, name: string): void;
}

/** Writes the child checkpoint, streaming tensor by tensor. `omit` names tensors left out (tied heads). */
export async function writeChild(
  path: string,
  plans: readonly CheckpointTensorPlan[],
  reader: SafetensorsReader,
  metadata: Record<string, string>,
  progress?: WriteProgress,
  omit: ReadonlySet<string> = new Set(),
  /** Values that replace a planned tensor's (PiSSA residual base weights). */
  replace: ReadonlyMap<string, Float32Array> = new Map(),
): Promise<{ bytes: number; tensors: number }> {
  checkAgainstParent(plans, reader);
  const kept = plans.filter((t) => !omit.has(t.name));
  const tensors = new Map<string, TensorToWrite>();
  let done = 0;
  for (const t of kept) {
    tensors.set(t.name, {
      dtype: 'F32',
      shape: t.shape,
      data: async () => {
        const values = replace.get(t.name) ?? (await materialize(t, reader));
        progress?.(++done, kept.length, t.name);
        return values;
      },
    });
  }
  const { bytes } = await writeSafetensors(path, tensors, metadata);
  return { bytes, tensors: kept.length };
}
