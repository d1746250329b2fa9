// Reading a checkpoint into a lowered model's parameters: the model's naming preset maps Scion
// paths to checkpoint names, and every name and shape is checked (MappingError names what is
// missing, extra or mismatched) before any tensor data is read. Shared by eval, generate, sample
// and the training jobs (frozen teachers, --init).

import type { LoweredModel } from '../../compiler/lower/lower-model.ts';
import { checkpointPlan, fromCheckpoint, namingPreset, type HostTensor } from '../../compiler/presets/index.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { openSafetensors, type SafetensorsReader } from '../../runtime/weights/index.ts';

const toHost = (data: ArrayLike<number>, shape: readonly number[]): HostTensor => ({
  shape,
  data: data instanceof Float32Array ? data : Float32Array.from(data),
});

/** Reads a checkpoint into Scion parameter paths through the model's preset. */
export async function loadWeights(m: LoweredModel, reader: SafetensorsReader): Promise<Map<string, HostTensor>> {
  return fromCheckpoint(
    namingPreset(m.instance.preset),
    checkpointPlan(m),
    (n) => reader.tensors.get(n)?.shape,
    [...reader.tensors.keys()],
    async (n) => toHost((await reader.read(n)) as ArrayLike<number>, reader.tensors.get(n)?.shape ?? []),
  );
}

/**
 * The checkpoint at `path` as f32 feeds by Scion path, the file closed again.
 *
 * Example: `const feeds = await loadWeightFeeds(lowerModel(program, 'DigitMLP'), 'runs/DigitMLP/model.safetensors')`
 */
export async function loadWeightFeeds(m: LoweredModel, path: string): Promise<Map<string, Tensor>> {
  const reader = await openSafetensors(path);
  try {
    const feeds = new Map<string, Tensor>();
    for (const [p, t] of await loadWeights(m, reader)) feeds.set(p, { dtype: 'f32', shape: t.shape, data: t.data });
    return feeds;
  } finally {
    await reader.close();
  }
}
