// What a host-side backend holds per graph: the values last written for its inputs and
// parameters, and the outputs of its last run — the state behind Backend's write, run and read.
// Keyed weakly by graph, so a graph no one holds any more takes its values with it.

import type { Graph } from '../compiler/ir/graph.ts';
import type { Tensor } from '../runtime/cpu/tensor.ts';

export interface Held {
  values: Map<string, Tensor>;
  outputs: Map<string, Tensor>;
}

export class HeldValues<Extra extends object = object> {
  private readonly held = new WeakMap<Graph, Held & Partial<Extra>>();

  constructor(private readonly backend: string) {}

  /** The graph's held values, made empty on first use. */
  of(graph: Graph): Held & Partial<Extra> {
    let s = this.held.get(graph);
    if (s === undefined) {
      s = { values: new Map(), outputs: new Map() } as Held & Partial<Extra>;
      this.held.set(graph, s);
    }
    return s;
  }

  /** Keeps `values` for the graph's next runs (write, and the feeds of a run). */
  write(graph: Graph, values: ReadonlyMap<string, Tensor>): Held & Partial<Extra> {
    const s = this.of(graph);
    for (const [name, t] of values) s.values.set(name, t);
    return s;
  }

  /** Outputs of the last run, or values written, by name; a name never seen is an error. */
  read(graph: Graph, names: readonly string[]): Map<string, Tensor> {
    const s = this.of(graph);
    return new Map(
      names.map((name) => {
        const t = s.outputs.get(name) ?? s.values.get(name);
        if (t === undefined) throw new Error(`${this.backend} backend: nothing named '${name}' has been written or computed`);
        return [name, t];
      }),
    );
  }
}
