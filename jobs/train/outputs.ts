// The files a training run leaves besides its checkpoints: the model under its preset's names
// (with config.json) and the loss plots.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoweredTrain } from '../../compiler/lower/lower-train.ts';
import { checkpointPlan, toCheckpoint, writeConfig, type HostTensor } from '../../compiler/presets/index.ts';
import { lossSeries, plotLosses } from '../../runtime/plot/index.ts';
import { writeSafetensors, type TensorToWrite } from '../../runtime/weights/index.ts';

/** model.safetensors under the preset's names, and config.json when the model has a preset. */
export async function saveModel(t: LoweredTrain, params: ReadonlyMap<string, Float32Array>, outDir: string, file = 'model.safetensors'): Promise<string> {
  const host = new Map<string, HostTensor>();
  for (const p of t.student.params) {
    const data = params.get(p.path);
    if (data !== undefined) host.set(p.path, { shape: p.shape, data });
  }
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, v] of toCheckpoint(checkpointPlan(t.student), host)) tensors.set(name, { dtype: 'F32', shape: v.shape, data: v.data });
  const preset = t.student.instance.preset;
  const path = join(outDir, file);
  await writeSafetensors(path, tensors, { format: 'pt', scion_model: t.student.instance.name, ...(preset === undefined ? {} : { scion_preset: preset }) });
  if (preset !== undefined) await writeFile(join(outDir, 'config.json'), `${JSON.stringify(writeConfig(preset, t.student), null, 2)}\n`);
  return path;
}

/** loss.svg and loss.png from the metrics (with the unigram baseline for language models); returns the PNG's path. */
export async function writePlots(
  outDir: string,
  model: string,
  metrics: readonly { kind: string; step: number; loss?: unknown }[],
  baseline: number | undefined,
  steps: number,
): Promise<string> {
  const series = lossSeries(metrics);
  if (baseline !== undefined) series.push({ name: 'unigram baseline', x: [1, Math.max(1, steps)], y: [baseline, baseline], color: '#7f7f7f' });
  const { svg, png } = plotLosses(series, { title: baseline === undefined ? `${model}: loss` : `${model}: loss (nats/token)`, xLabel: 'step', yLabel: 'loss' });
  await writeFile(join(outDir, 'loss.svg'), svg);
  await writeFile(join(outDir, 'loss.png'), png);
  return join(outDir, 'loss.png');
}
