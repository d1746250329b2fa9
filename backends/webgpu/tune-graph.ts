// Per-adapter choices for compiled graphs (issue #4, #16): the matmul form — the register block
// (render-matmul.ts `blockFor` cap), alone or inside workgroup-memory tiles
// (render-matmul-tiled.ts) — and whether row reductions run on subgroups (subgroup-reduce.ts). Each is timed once per adapter on a tiny probe graph compiled with every
// candidate, and remembered in a TuneStore (runtime/webgpu/autotune.ts) under the adapter's key;
// later calls read the store and compile nothing. The training and eval graphs are then compiled
// with `compileOptionsFor(tuning)` (index.ts beside this file).
//
//   matmul probe:  x [256, 128] · w [128, 264]   (small-model sizes: milliseconds per run; no
//                  epilogue, which would only add to lavapipe's compile time, not to the choice)
//   reduce probe:  softmax(x [64, 256]) over rows

import type { MatmulBlock } from '../../compiler/codegen/wgsl/render-matmul.ts';
import { GraphBuilder } from '../../compiler/ir/builder.ts';
import { softmax } from '../../compiler/ir/compose.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { compileGraph, type CompileOptions } from '../../compiler/pipeline.ts';
import { tensor } from '../../runtime/cpu/tensor.ts';
import { autotune, isCurrentChoice, type TimedRun, type TuneStore } from '../../runtime/webgpu/autotune.ts';
import { type AdapterDescription, type GpuDevice, isSoftwareAdapter } from '../../runtime/webgpu/device.ts';
import { WebGpuExecutor } from '../../runtime/webgpu/executor.ts';
import type { PipelineCache } from '../../runtime/webgpu/pipeline-cache.ts';

/** How compiled graphs render blocked matmuls: the register block, and whether tiles stage it. */
export interface MatmulChoice {
  matmulBlock: MatmulBlock;
  /** Staged through workgroup-memory tiles (CompileOptions `matmulTiles`). */
  matmulTiles: boolean;
}

/** What the tuner decides for compiled graphs on one adapter. */
export interface GraphTuning extends MatmulChoice {
  /** Row reductions on subgroups (only ever true where the device offers 'subgroups'). */
  subgroups: boolean;
}

/** Today's fixed behaviour: 8×8 register blocks, no tiles, one thread per reduced row. */
export const UNTUNED: GraphTuning = { matmulBlock: { rows: 8, cols: 8 }, matmulTiles: false, subgroups: false };

/**
 * Matmul forms timed, by name (the name is what the store keeps): register-block caps, and the
 * tiled form with 4×4 blocks (32×32 tiles) and 8×8 blocks (64×64 tiles), which real GPUs favour
 * and lavapipe does not (research/baselines.md, lesson 2). 16×8 has no tiled twin: its 128×64
 * tiles leave a workgroup of 64 threads on a small model's matrices mostly idle.
 */
export const MATMUL_CANDIDATES: Readonly<Record<string, MatmulChoice>> = {
  '4x4': { matmulBlock: { rows: 4, cols: 4 }, matmulTiles: false },
  '8x8': { matmulBlock: { rows: 8, cols: 8 }, matmulTiles: false },
  '16x8': { matmulBlock: { rows: 16, cols: 8 }, matmulTiles: false },
  'tiled-4x4': { matmulBlock: { rows: 4, cols: 4 }, matmulTiles: true },
  'tiled-8x8': { matmulBlock: { rows: 8, cols: 8 }, matmulTiles: true },
};

/**
 * Op keys in the store; the version part changes when the probes or candidates' meaning do (a
 * candidate added, as the tiled ones were, re-times a stored choice anyway: autotune.ts
 * `isCurrentChoice`).
 */
export const GRAPH_TUNE_KEYS = { matmulBlock: 'graph/matmul-block/f32/v1', rowReduce: 'graph/row-reduce/f32/v1' } as const;

const REDUCE_CANDIDATES = ['thread-per-row', 'subgroups'] as const;

/**
 * A candidate replaces the untuned default only when it is at least this much faster. Probe
 * timings on a shared machine jitter by ~10–20%, and a bigger block costs more than time per step:
 * lavapipe compiles a 16×8-blocked kernel for seconds where an 8×8 one takes about one (measured
 * on a cold Mesa shader cache), so a noise-level win must not switch every training kernel to it.
 */
export const SWITCH_MARGIN = 0.85;

/** The fastest of `timesMs`, unless it beats `fallback` by less than SWITCH_MARGIN. */
export function decide(timesMs: Readonly<Record<string, number>>, fallback: string): string {
  const ranked = Object.entries(timesMs).sort((x, y) => x[1] - y[1]);
  const best = ranked[0] ?? fail('no timings to decide from');
  const base = timesMs[fallback];
  return base === undefined || best[1] < SWITCH_MARGIN * base ? best[0] : fallback;
}

/** A probe compiled and bound on the device: `run` does one step and awaits it. */
export interface Probe {
  run: TimedRun;
  dispose(): void;
}

/** Compiles `graph` with `opts` and binds it with some input data, ready to time. */
export type PrepareProbe = (graph: Graph, opts: CompileOptions) => Promise<Probe>;

export interface TuneGraphRequest {
  store: TuneStore;
  adapterKey: string;
  /** Whether the device offers 'subgroups' (else the reduction choice is not timed). */
  subgroups: boolean;
  prepare: PrepareProbe;
  /** Timed runs per candidate after one warm-up (default 3). */
  reps?: number;
}

/** The tuning, and whether any timing happened in this call. */
export type TunedGraph = GraphTuning & { fresh: boolean };

/** x [256, 128] · w [128, 264]: a linear layer of a small model. */
export function matmulProbe(): Graph {
  const b = new GraphBuilder();
  b.output('y', b.matmul(b.input('x', [256, 128]), b.param('w', [128, 264])));
  return b.build();
}

/** Row softmax of x [64, 256]: rows long enough for the subgroup path (SUBGROUP_MIN_REDUCE). */
export function reduceProbe(): Graph {
  const b = new GraphBuilder();
  b.output('y', softmax(b, b.input('x', [64, 256])));
  return b.build();
}

/**
 * The remembered tuning for this adapter, or — the first time, or when the candidate set changed —
 * each choice timed on its probe and stored. Probes are prepared only for choices not in the store.
 */
export async function tuneGraph(req: TuneGraphRequest): Promise<TunedGraph> {
  const reps = req.reps ?? 3;
  let fresh = false;
  // The store keeps the raw timings (and the fastest); the choice applies the margin to them.
  const pick = async (opKey: string, workload: string, graph: () => Graph, variants: Record<string, CompileOptions>, fallback: string): Promise<string> => {
    const known = req.store.get(req.adapterKey, opKey);
    if (isCurrentChoice(known, Object.keys(variants))) return decide(known.timesMs, fallback);
    const probes: Probe[] = [];
    try {
      const candidates: Record<string, TimedRun> = {};
      for (const [name, opts] of Object.entries(variants)) {
        const probe = await req.prepare(graph(), opts);
        probes.push(probe);
        candidates[name] = probe.run;
      }
      const choice = await autotune(req.store, { adapterKey: req.adapterKey, opKey, workload, candidates, reps });
      fresh ||= choice.fresh;
      return decide(choice.timesMs, fallback);
    } finally {
      for (const p of probes) p.dispose();
    }
  };
  const forms = Object.fromEntries(Object.entries(MATMUL_CANDIDATES).map(([name, choice]) => [name, matmulOptions(choice)]));
  const form = await pick(GRAPH_TUNE_KEYS.matmulBlock, '256x264x128 matmul', matmulProbe, forms, '8x8');
  const { matmulBlock, matmulTiles } = MATMUL_CANDIDATES[form] ?? fail(`unknown matmul candidate ${form}`);
  // Without the feature there is nothing to choose (and nothing to store).
  if (!req.subgroups) return { matmulBlock, matmulTiles, subgroups: false, fresh };
  const [plain, sub] = REDUCE_CANDIDATES;
  const reduce = await pick(GRAPH_TUNE_KEYS.rowReduce, '64x256 softmax', reduceProbe, { [plain]: {}, [sub]: { features: ['subgroups'] } }, plain);
  return { matmulBlock, matmulTiles, subgroups: reduce === sub, fresh };
}

/** The compile options of a matmul form (no `matmulTiles` key for the register form). */
function matmulOptions(choice: MatmulChoice): CompileOptions {
  return { matmulBlock: choice.matmulBlock, ...(choice.matmulTiles ? { matmulTiles: true } : {}) };
}

/** Compile options that apply `tuning` (to add to a graph's own, e.g. limits). */
export function compileOptionsFor(tuning: GraphTuning): CompileOptions {
  return { ...matmulOptions(tuning), ...(tuning.subgroups ? { features: ['subgroups'] } : {}) };
}

/**
 * Query rows per thread of fused attention (CompileOptions `attentionRows`): 4 on a software
 * adapter, where every storage load costs a loop over the SIMD lanes and one key row loaded for
 * four query rows cut the default llama's attention kernels from ~17.5 to ~12.4 ms each
 * (lavapipe, b16×64, 2026-12-07); 1 on a GPU, whose threads are many and whose loads are not that
 * dear (no GPU has timed the other choice).
 */
const attentionRowsFor = (adapter: AdapterDescription): number => (isSoftwareAdapter(adapter) ? 4 : 1);

/** Compile options for graphs on `gpu` with its `tuning`: what `--device webgpu` compiles with. */
export function deviceCompileOptions(gpu: Pick<GpuDevice, 'adapterInfo'>, tuning: GraphTuning): CompileOptions {
  const rows = attentionRowsFor(gpu.adapterInfo);
  return { ...compileOptionsFor(tuning), ...(rows > 1 ? { attentionRows: rows } : {}) };
}

/** Probes on a real device: compiled with the device's limits, fed deterministic values. */
export function deviceProbes(gpu: GpuDevice, cache: PipelineCache, base: CompileOptions = {}): PrepareProbe {
  return async (graph, opts) => {
    const ex = await WebGpuExecutor.create(gpu, compileGraph(graph, { ...base, ...opts, verify: false }), cache);
    const kg = ex.artifact.graph;
    for (const io of [...kg.inputs, ...kg.params]) {
      const buffer = kg.buffers[io.buffer] ?? fail(`feed ${io.name} has no buffer`);
      ex.write(
        io.name,
        tensor(
          Float32Array.from({ length: buffer.count }, (_, i) => ((i * 7919) % 13) / 13 - 0.5),
          buffer.shape,
        ),
      );
    }
    return { run: () => ex.step(), dispose: () => ex.destroy() };
  };
}

/** `tuneGraph` for a device: keyed by its adapter, probes run on it. */
export function tuneGraphForDevice(gpu: GpuDevice, cache: PipelineCache, store: TuneStore, base: CompileOptions = {}): Promise<TunedGraph> {
  return tuneGraph({ store, adapterKey: gpu.adapterInfo.key, subgroups: gpu.features.has('subgroups'), prepare: deviceProbes(gpu, cache, base) });
}

function fail(msg: string): never {
  throw new Error(`tune-graph bug: ${msg}`);
}
