// The CPU reference backend: runtime/cpu's interpreter in f32, the executable definition of every
// op. Holds, per graph, the values written for its inputs and parameters and its last outputs.

import type { Graph } from '../../compiler/ir/graph.ts';
import { runGraph } from '../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import type { Backend, BackendEntry } from '../backend.ts';

/** A CPU backend of its own: values written to one are not seen by another. */
export function createCpuBackend(): Backend {
  const held = new WeakMap<Graph, { values: Map<string, Tensor>; outputs: Map<string, Tensor> }>();
  const stateOf = (g: Graph) => {
    let s = held.get(g);
    if (s === undefined) {
      s = { values: new Map(), outputs: new Map() };
      held.set(g, s);
    }
    return s;
  };
  return {
    name: 'cpu',
    // async: a missing value rejects the promise, as on every backend, instead of throwing.
    async compile() {},
    async write(graph, values) {
      const s = stateOf(graph);
      for (const [name, t] of values) s.values.set(name, t);
    },
    async run(graph, feeds, outputs) {
      const s = stateOf(graph);
      for (const [name, t] of feeds) s.values.set(name, t);
      s.outputs = runGraph(graph, s.values, outputs === undefined ? { dtype: 'f32' } : { dtype: 'f32', outputs });
      return new Map(s.outputs);
    },
    async read(graph, names) {
      const s = stateOf(graph);
      return new Map(
        names.map((name) => {
          const t = s.outputs.get(name) ?? s.values.get(name);
          if (t === undefined) throw new Error(`cpu backend: nothing named '${name}' has been written or computed`);
          return [name, t];
        }),
      );
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
