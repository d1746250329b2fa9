// The reference backend (`--device reference`): runtime/cpu's f64-accumulating interpreter in f32,
// the executable definition of every op — every other backend is tested against it. It runs every
// graph, so it is last in the registry: `--device auto` falls back to it. Not built for speed.
// Holds, per graph, the values written for its inputs and parameters and its last outputs.

import { runGraph } from '../../runtime/cpu/run-graph.ts';
import type { Backend, BackendEntry } from '../backend.ts';
import { HeldValues } from '../held.ts';

/** A reference backend of its own: values written to one are not seen by another. */
export function createReferenceBackend(): Backend {
  const held = new HeldValues('reference');
  return {
    name: 'reference',
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

/** The shared reference backend, for one-off evaluations (it holds only what is written to it). */
export const referenceBackend: Backend = createReferenceBackend();

/** The registry's entry: the reference runs every graph. */
export const REFERENCE: BackendEntry = {
  title: 'the CPU reference backend',
  open: async () => createReferenceBackend(),
};
