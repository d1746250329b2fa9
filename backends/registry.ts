// Every backend, one line each: the name `--device` takes, and how to load its entry (loaded on
// demand, so a CPU run never pays for Dawn or the WGSL compiler, nor the reference for ONNX
// Runtime). The order is `--device auto`'s preference: the first entry that opens for the graph
// runs it, and a one-line note says why the ones before it declined. Adding a backend: its folder
// under backends/ with a BackendEntry, and one line here.

import type { Graph } from '../compiler/ir/graph.ts';
import { type Backend, type BackendEntry, DeviceUnavailable } from './backend.ts';

export const BACKENDS = {
  // A hardware adapter only, under auto: a software one (llvmpipe, SwiftShader) is slower than cpu.
  webgpu: () => import('./webgpu/index.ts').then((m) => m.WEBGPU),
  // ONNX Runtime: declines a graph with an op that has no exact ONNX form (svd_values, …).
  cpu: () => import('./cpu/index.ts').then((m) => m.CPU),
  // The definition of every op; opens for every graph, so auto always ends here.
  reference: () => import('./reference/index.ts').then((m) => m.REFERENCE),
} satisfies Record<string, () => Promise<BackendEntry>>;

export type BackendName = keyof typeof BACKENDS;
/** `--device`: a backend by name, or `auto`. */
export type DeviceChoice = 'auto' | BackendName;

export const BACKEND_NAMES = Object.keys(BACKENDS) as BackendName[];

/** How progress lines name where a job runs ("training … on the CPU"), one entry per backend. */
export const DEVICE_WORDS: Record<BackendName, string> = { webgpu: 'WebGPU', cpu: 'the CPU (ONNX Runtime)', reference: 'the CPU reference' };

/** DEVICE_WORDS of a backend's name (a name outside the registry is printed as it is). */
export function deviceWords(name: string): string {
  return Object.hasOwn(DEVICE_WORDS, name) ? DEVICE_WORDS[name as BackendName] : name;
}

export function isDeviceChoice(v: string): v is DeviceChoice {
  return v === 'auto' || Object.hasOwn(BACKENDS, v);
}

/**
 * The backend for `--device`: the one named (DeviceUnavailable when it cannot run the graph), or
 * for `auto` the first in the registry that opens; `log` receives the note about those that declined.
 */
export async function selectBackend(device: DeviceChoice, graph: Graph, log: (line: string) => void): Promise<Backend> {
  if (device !== 'auto') {
    const entry = await BACKENDS[device]();
    const r = await entry.open(graph, true);
    if ('reason' in r) throw new DeviceUnavailable(`--device ${device}: ${r.reason}`);
    return r;
  }
  const declined: string[] = [];
  for (const load of Object.values(BACKENDS)) {
    const entry = await load();
    const r = await entry.open(graph, false);
    if ('reason' in r) {
      declined.push(`${entry.title} not used: ${r.reason}`);
      continue;
    }
    if (declined.length > 0) log(`note: running on ${entry.title} (${declined.join('; ')})`);
    return r;
  }
  throw new DeviceUnavailable(`no backend can run this graph: ${declined.join('; ')}`);
}

export { type Backend, DeviceUnavailable } from './backend.ts';
