// Runs a compiled artifact given as JSON: acquire a device (in a page: navigator.gpu), build the
// executor, write the feeds, run a number of steps, read named tensors back after each. This is
// the whole of what a page needs to run Scion: no compiler, no Node module, only the artifact
// that `compileGraph` (or `scion compile`) produced elsewhere. It runs unchanged in Node (Dawn).
//
// Example (in a page, bundled with esbuild):
//   const result = await runFromUrl('/plans/mlp-step.json');
//   if (!result.ok) console.error(`no WebGPU: ${result.reason}`);
//   else fromWire(result.steps[0].loss).data[0];

import type { KernelArtifact } from '../../../compiler/kernel/kernel-graph.ts';
import { acquireDevice, type AcquireOptions, type AdapterDescription } from '../device.ts';
import { WebGpuExecutor } from '../executor.ts';
import { fromWire, toWire, type WireTensor } from './wire.ts';

export interface RunRequest {
  artifact: KernelArtifact;
  /** A value for every input and parameter of the artifact, by name. */
  feeds: Record<string, WireTensor>;
  /** Steps to run (default 1). Between steps, carried outputs (training state) replace their inputs. */
  steps?: number;
  /** Read after every step: outputs, or inputs/params (after a step, carried state sits there). */
  read: string[];
}

export type RunResult =
  | { ok: true; adapter: AdapterDescription; steps: Record<string, WireTensor>[] }
  /** No device: `reason` says why, in words a user can act on. */
  | { ok: false; reason: string };

/**
 * Runs `request` on a freshly acquired device and releases it. A missing device is a result
 * (`ok: false`); a bad request or a failing kernel throws.
 */
export async function runRequest(request: RunRequest, acquire: AcquireOptions = {}): Promise<RunResult> {
  const steps = request.steps ?? 1;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`runRequest: steps must be a positive integer, got ${steps}`);
  const gpu = await acquireDevice(acquire);
  if (gpu.device === null) return { ok: false, reason: gpu.reason };
  try {
    const ex = await WebGpuExecutor.create(gpu, request.artifact);
    const g = request.artifact.graph;
    for (const io of [...g.inputs, ...g.params]) {
      const w = request.feeds[io.name];
      if (w === undefined) throw new Error(`runRequest: no feed for input or parameter '${io.name}'`);
      ex.write(io.name, fromWire(w));
    }
    const read: Record<string, WireTensor>[] = [];
    for (let s = 0; s < steps; s++) {
      await ex.step();
      const got: Record<string, WireTensor> = {};
      for (const name of request.read) got[name] = toWire(await ex.read(name));
      read.push(got);
    }
    ex.destroy();
    return { ok: true, adapter: gpu.adapterInfo, steps: read };
  } finally {
    gpu.destroy();
  }
}

/** Fetches a RunRequest (JSON) from `url` and runs it: the page side of a served plan. */
export async function runFromUrl(url: string, acquire: AcquireOptions = {}): Promise<RunResult> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`runFromUrl: GET ${url} answered ${response.status} ${response.statusText}`);
  return runRequest((await response.json()) as RunRequest, acquire);
}
