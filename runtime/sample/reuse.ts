// A-SDM feature inheritance (DeepCache-style): on refresh steps run the full graph and keep the
// value of one tap; on the other steps run only the sub-graph downstream of the tap, with the
// cached value fed in its place. The sub-graph is the lowered graph cut at the tap: the tap node
// becomes an input, and everything only it needed is pruned away (the "shallow path" that other
// consumers, e.g. skip connections and the time embedding, still need is kept and recomputed).

import type { Graph, Node } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../cpu/tensor.ts';
import { cpuRunner, feedsFor, readOutputs, type GraphModel } from './graph-denoiser.ts';
import type { Denoiser, DenoiserOutput, GraphRunner } from './types.ts';

/** Name of the input that replaces the tap in a cut graph. */
export const cacheInputName = (tap: string): string => `cache:${tap}`;

/**
 * `graph` with node `tap` replaced by an input named `name` (same dtype and shape), pruned to
 * what the outputs need and renumbered. Plain data in, plain data out.
 */
export function cutAtTap(graph: Graph, tap: number, name: string): Graph {
  const at = graph.nodes[tap];
  if (at === undefined) throw new Error(`cutAtTap: no node %${tap}`);
  const replaced: Node = {
    id: tap,
    op: 'input',
    inputs: [],
    attrs: { name, shape: at.shape, dtype: at.dtype },
    dtype: at.dtype,
    shape: at.shape,
    ...(at.span ? { span: at.span } : {}),
  };
  const nodes = graph.nodes.map((n) => (n.id === tap ? replaced : n));
  const live = new Uint8Array(nodes.length);
  for (const o of graph.outputs) live[o.node] = 1;
  for (let i = nodes.length - 1; i >= 0; i--) if (live[i]) for (const j of (nodes[i] as Node).inputs) live[j] = 1;
  if (!live[tap]) throw new Error(`cutAtTap: no output depends on node %${tap}`);
  const remap = new Map<number, number>();
  const kept: Node[] = [];
  for (const n of nodes) {
    if (!live[n.id]) continue;
    remap.set(n.id, kept.length);
    kept.push({ ...n, id: kept.length, inputs: n.inputs.map((i) => remap.get(i) as number) });
  }
  return { nodes: kept, outputs: graph.outputs.map((o) => ({ name: o.name, node: remap.get(o.node) as number })) };
}

/** When to run the full graph: every N steps (from step 0), or on listed step indices. */
export type RefreshSchedule = { every: number } | { steps: readonly number[] };

export function isRefreshStep(s: RefreshSchedule, step: number): boolean {
  return 'every' in s ? step % s.every === 0 : s.steps.includes(step);
}

export interface CachedDenoiser extends Denoiser {
  (x: Float64Array, t: number, labels: Int32Array, step: number): Promise<DenoiserOutput>;
  readonly fullPasses: number;
  readonly partialPasses: number;
  /** Nodes of the full graph and of the cut sub-graph (how much a reuse step skips). */
  readonly fullNodes: number;
  readonly partialNodes: number;
  /** The full graph (with the tap as an extra output) and the cut one: built once, so a backend compiles each once. */
  readonly fullGraph: Graph;
  readonly partialGraph: Graph;
}

/**
 * @param tap the tap's node id in `m.graph` (LoweredModel.taps.get(path))
 * @param tapName the tap's spec path, for the cache input's name and messages
 * @param run where both graphs run (default: the CPU reference); the cached tap value stays on the host
 */
export function cachedDenoiser(m: GraphModel, tap: number, tapName: string, schedule: RefreshSchedule, run: GraphRunner = cpuRunner): CachedDenoiser {
  if ('every' in schedule && !(Number.isInteger(schedule.every) && schedule.every >= 1))
    throw new RangeError(`cache every = ${schedule.every}: must be a positive integer`);
  const cacheOut = `cache:${tapName}`;
  const full: Graph = { nodes: m.graph.nodes, outputs: [...m.graph.outputs, { name: cacheOut, node: tap }] };
  const cut = cutAtTap(m.graph, tap, cacheInputName(tapName));
  const wanted = m.outputs.v === undefined ? [m.outputs.eps] : [m.outputs.eps, m.outputs.v];
  let cached: Tensor | undefined;
  let cachedBatch = -1;
  let fullPasses = 0;
  let partialPasses = 0;
  const fn = async (x: Float64Array, t: number, labels: Int32Array, step: number): Promise<DenoiserOutput> => {
    // A stale cache from another batch size (or none yet) forces a refresh.
    if (cached === undefined || cachedBatch !== labels.length || isRefreshStep(schedule, step)) {
      fullPasses++;
      const out = await run(full, feedsFor(m, full, x, t, labels), [...wanted, cacheOut]);
      cached = out.get(cacheOut);
      cachedBatch = labels.length;
      return readOutputs(m, out);
    }
    partialPasses++;
    const out = await run(cut, feedsFor(m, cut, x, t, labels, new Map([[cacheInputName(tapName), cached]])), wanted);
    return readOutputs(m, out);
  };
  Object.defineProperties(fn, {
    fullPasses: { get: () => fullPasses },
    partialPasses: { get: () => partialPasses },
    fullNodes: { value: m.graph.nodes.length },
    partialNodes: { value: cut.nodes.length },
    fullGraph: { value: full },
    partialGraph: { value: cut },
  });
  return fn as CachedDenoiser;
}
