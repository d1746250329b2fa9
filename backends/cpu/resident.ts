// Backend.resident on ONNX Runtime: a whole training step (buildTrainStep: forward, backward,
// clipping, the optimizer, EMA, accumulation) as one session whose carried state — parameters,
// moments, EMA, accumulators — stays in Float32Arrays this module owns. Each carried value has two
// buffers: a run reads one as its input and ONNX Runtime writes the new value straight into the
// other (a preallocated output: onnxruntime-node binds the fetch's buffer, so the step's outputs
// are not copied into fresh JS arrays), and the two swap after the run. An output may not be its own input's buffer — ORT may write it
// before every read of the input is done — hence two. Per step only the batch and a few scalars
// are new tensors, wrapped without a copy, and the watched scalars are read from small outputs.
//
// On the main job (1.8M parameters) the host loop this replaces copied every gradient out of ORT
// (Float32Array.from), summed it into the accumulator, clipped it, ran AdamW and scanned the
// parameters in JS each step: 28–35% on top of the session's own run (timed piece by piece on
// this 2-core machine at load average 11: ORT 2.19 s, gradient copies 0.23–0.37 s, accumulator
// 0.23 s, AdamW 0.09 s, the scan 0.05 s, clipping 0.02 s).
//
// A graph with host ops (svd_values and its VJP) cannot be one session: it runs through
// segmented.ts as its forward-and-backward does, its carried state kept as host tensors that each
// run's outputs replace (so the step stays one graph; only its crossings are copied).

import type { Graph, Node } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import type { Carry, ResidentGraph } from '../backend.ts';
import type { HostDraws } from './host-draws.ts';
import type { SegmentedRun } from './segmented.ts';

type OrtTensor = import('onnxruntime-node').Tensor;
type Session = import('onnxruntime-node').InferenceSession;

/** What the resident step needs from index.ts. */
export interface ResidentBridge {
  /** The graph as one session (graphs without host ops). */
  session(graph: Graph): Promise<Session>;
  /** The graph's steps around its host ops for these outputs, or undefined when it has none. */
  segments(graph: Graph, want: readonly string[]): SegmentedRun | undefined;
  toOrt(t: Tensor, node: Node): OrtTensor;
  fromOrt(v: OrtTensor, node: Node): Tensor;
  /** A zeroed tensor of the node's dtype and shape, for a preallocated output. */
  empty(node: Node): OrtTensor;
  /** The graph's random draws, computed on the host before each run (host-draws.ts). */
  draws(graph: Graph): Pick<HostDraws, 'keys' | 'values'>;
}

const sourceName = (n: Node): string | undefined => (n.op === 'input' || n.op === 'param' ? (n.attrs['name'] as string) : undefined);

export async function cpuResident(graph: Graph, carry: readonly Carry[], bridge: ResidentBridge): Promise<ResidentGraph> {
  const sources = new Map<string, Node>();
  for (const n of graph.nodes) {
    const name = sourceName(n);
    if (name !== undefined) sources.set(name, n);
  }
  const outputNode = (name: string): Node => {
    const o = graph.outputs.find((x) => x.name === name);
    if (o === undefined) throw new Error(`cpu backend (resident): the graph has no output '${name}'`);
    return graph.nodes[o.node] as Node;
  };
  for (const c of carry) {
    const [o, i] = [outputNode(c.output), sources.get(c.input)];
    if (i === undefined) throw new Error(`cpu backend (resident): carried output '${c.output}' names no input '${c.input}'`);
    if (o.dtype !== i.dtype || o.shape.join(',') !== i.shape.join(','))
      throw new Error(
        `cpu backend (resident): '${c.output}' (${o.dtype}[${o.shape.join(',')}]) cannot replace '${c.input}' (${i.dtype}[${i.shape.join(',')}])`,
      );
  }
  const segmented = bridge.segments(
    graph,
    graph.outputs.map((o) => o.name),
  );
  return segmented === undefined ? await oneSession(graph, carry, sources, outputNode, bridge) : segmentedSteps(segmented, carry, sources, outputNode);
}

/** Common to both: read by name from inputs held and the last run's outputs. */
function reader(inputs: () => ReadonlyMap<string, Tensor | undefined>, outputs: () => ReadonlyMap<string, Tensor>) {
  return async (names: readonly string[]): Promise<Map<string, Tensor>> =>
    new Map(
      names.map((name) => {
        const t = inputs().get(name) ?? outputs().get(name);
        if (t === undefined) throw new Error(`cpu backend (resident): nothing named '${name}' has been written or computed`);
        return [name, t];
      }),
    );
}

async function oneSession(
  graph: Graph,
  carry: readonly Carry[],
  sources: ReadonlyMap<string, Node>,
  outputNode: (name: string) => Node,
  bridge: ResidentBridge,
): Promise<ResidentGraph> {
  const session = await bridge.session(graph);
  // Values the session does not take (a param the export found dead) are ignored, as WebGPU's
  // resident ignores them; the keys of the draws computed on the host are kept for them.
  const draws = bridge.draws(graph);
  const runs = new Set(session.inputNames);
  const takes = new Set([...runs, ...draws.keys]);
  const held = new Map<string, OrtTensor>();
  /** Per carried input: the buffer the next run writes its new value into. */
  const spare = new Map<string, OrtTensor>();
  for (const c of carry) if (runs.has(c.input)) spare.set(c.input, bridge.empty(sources.get(c.input) as Node));
  const carried = carry.filter((c) => runs.has(c.input));
  let last = new Map<string, Tensor>();

  const put = (values: ReadonlyMap<string, Tensor>, copy: boolean): void => {
    for (const [name, t] of values) {
      const node = sources.get(name);
      if (node === undefined || !takes.has(name)) continue;
      if (t.shape.length !== node.shape.length || t.shape.some((d, k) => d !== node.shape[k]))
        throw new Error(`cpu backend (resident): '${name}' has shape [${t.shape.join(',')}], the graph expects [${node.shape.join(',')}]`);
      // State written once (load, resume) is copied: the next runs write into these buffers, and
      // the caller's arrays (the host optimizer's, a checkpoint's) must not change under it.
      held.set(name, bridge.toOrt(copy ? { ...t, data: t.data.slice() } : t, node));
    }
  };
  const hostTensor = (name: string, v: OrtTensor): Tensor => ({ dtype: (sources.get(name) as Node).dtype, shape: [...v.dims], data: v.data as Tensor['data'] });
  const hostInputs = (): Map<string, Tensor> => new Map([...held].map(([name, v]) => [name, hostTensor(name, v)]));
  return {
    write: (values) => put(values, true),
    async enqueue(feeds, watch) {
      put(feeds, false);
      // This step's dropout masks, from its key (fed, or written once).
      put(
        draws.values((name) => {
          const v = held.get(name);
          return v === undefined ? undefined : hostTensor(name, v);
        }),
        false,
      );
      const input: Record<string, OrtTensor> = {};
      for (const name of session.inputNames) {
        const v = held.get(name);
        if (v === undefined) {
          const node = sources.get(name) as Node;
          throw new Error(`cpu backend (resident): missing ${node.op === 'param' ? 'parameter' : 'input'} '${name}' (${node.dtype}[${node.shape.join(',')}])`);
        }
        input[name] = v;
      }
      const fetches: Record<string, OrtTensor | null> = {};
      for (const c of carried) fetches[c.output] = spare.get(c.input) as OrtTensor;
      for (const w of watch) if (!(w in fetches)) fetches[w] = null;
      const got = await session.run(input, fetches);
      for (const c of carried) {
        const next = spare.get(c.input) as OrtTensor;
        spare.set(c.input, held.get(c.input) as OrtTensor);
        held.set(c.input, next);
      }
      last = new Map(watch.map((w) => [w, bridge.fromOrt(got[w] as OrtTensor, outputNode(w))]));
      const values = Float32Array.from(watch, (w) => (last.get(w) as Tensor).data[0] as number);
      return async () => values;
    },
    // Copies: the buffers are reused by the next runs, and a checkpoint must keep what it read.
    read: async (names) => {
      const got = await reader(hostInputs, () => last)(names);
      return new Map([...got].map(([n, t]) => [n, { ...t, data: t.data.slice() }]));
    },
    queueAhead: 0,
    dispose: () => {
      held.clear();
      spare.clear();
    },
  };
}

function segmentedSteps(run: SegmentedRun, carry: readonly Carry[], sources: ReadonlyMap<string, Node>, outputNode: (name: string) => Node): ResidentGraph {
  const held = new Map<string, Tensor>();
  let last = new Map<string, Tensor>();
  const put = (values: ReadonlyMap<string, Tensor>): void => {
    for (const [name, t] of values) if (sources.has(name)) held.set(name, t);
  };
  return {
    write: (values) => put(new Map([...values].map(([n, t]) => [n, { ...t, data: t.data.slice() }]))),
    async enqueue(feeds, watch) {
      put(feeds);
      const out = await run.run(held);
      // Every output is a fresh tensor of this run, so a carried one can become its input as it is.
      for (const c of carry) held.set(c.input, out.get(c.output) ?? fail(`no output '${c.output}'`));
      last = new Map(watch.map((w) => [w, out.get(w) ?? fail(`no output '${w}' (${outputNode(w).dtype})`)]));
      const values = Float32Array.from(watch, (w) => (last.get(w) as Tensor).data[0] as number);
      return async () => values;
    },
    read: reader(
      () => held,
      () => last,
    ),
    queueAhead: 0,
    dispose: () => held.clear(),
  };
}

function fail(why: string): never {
  throw new Error(`cpu backend (resident): ${why}`);
}
