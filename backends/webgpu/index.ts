// The WebGPU backend's registry entry and its Node defaults: tuned choices kept in the file store
// (~/.cache/scion), SCION_TUNE=off to skip tuning. The backend itself is webgpu-backend.ts, which
// a page opens without either.

import type { Graph } from '../../compiler/ir/graph.ts';
import type { TuneStore } from '../../runtime/webgpu/autotune.ts';
import { FileTuneStore } from '../../runtime/webgpu/tune-store-file.ts';
import type { BackendEntry } from '../backend.ts';
import { probeAdapter } from './probe-adapter.ts';
import { openWebGpuBackend, softwareAdapterReason, type WebGpuBackend, type WebGpuBackendOptions } from './webgpu-backend.ts';

export type { WebGpuBackend } from './webgpu-backend.ts';

/**
 * Opens a device and checks that `graph` compiles for it; the reason says why not, in words.
 * `tune` defaults to the file store, or to none (untuned) under SCION_TUNE=off (tests, or a one-off
 * run that should not time anything); a caller's explicit choice wins.
 */
export function createWebGpuBackend(
  graph: Graph,
  opts: Partial<WebGpuBackendOptions> & { tune?: TuneStore | false } = {},
): Promise<WebGpuBackend | { reason: string }> {
  const tune = opts.tune ?? (process.env['SCION_TUNE'] === 'off' ? false : new FileTuneStore());
  return openWebGpuBackend(graph, { ...opts, tune });
}

/**
 * The registry's entry: `--device auto` declines a software adapter, `--device webgpu` takes it.
 * Auto looks at the adapter in a child process first (probe-adapter.ts says why), so a machine
 * without a GPU never opens Dawn here.
 */
export const WEBGPU: BackendEntry = {
  title: 'WebGPU',
  async open(graph, chosen) {
    if (!chosen) {
      const probe = await probeAdapter();
      if ('reason' in probe) return probe;
      if (probe.software) return { reason: softwareAdapterReason(probe.adapter) };
    }
    return createWebGpuBackend(graph, { allowSoftware: chosen });
  },
};
