// The CPU reference backend: runtime/cpu's interpreter in f32, the executable definition of every
// op. Holds, per graph, the values written for its inputs and parameters and its last outputs.

import { runGraph } from '../../runtime/cpu/run-graph.ts';
import type { Backend, BackendEntry } from '../backend.ts';
import { HeldValues } from '../held.ts';

/** A CPU backend of its own: values written to one are not seen by another. */
export function createCpuBackend(): Backend {
  const held = new HeldValues('cpu');
  return {
    name: 'cpu',
    // async: a missing value rejects the promise, as on every backend, instead of throwing.
    async compile() {},
    async write(graph, values) {
      held.write(graph, values);
    },
    async run(graph, feeds, outputs) {
      const s = held.write(graph, feeds);
      s.outputs = runGraph(graph, s.values, outputs === undefined ? { dtype: 'f32' } : { dtype: 'f32', outputs });
      return new Map(s.outputs);
    },
    async read(graph, names) {
      return held.read(graph, names);
    },
    dispose: () => undefined,
  };
}

/** The shared CPU backend, for one-off evaluations (it holds only what is written to it). */
export const cpuBackend: Backend = createCpuBackend();

/** The registry's entry: the CPU runs every graph. */
export const CPU: BackendEntry = {
  title: 'the CPU reference backend',
  open: async () => createCpuBackend(),
};
