// Scion's compiled WebGPU forward against onnxruntime-node's WebGPU execution provider running the
// identical model: the model's forward graph is both what Scion compiles (compileGraph →
// WebGpuExecutor on the shared device, with the adapter's tuned choices, as `--device webgpu`
// compiles) and, through `scion export --onnx`'s lowering (toOnnx, the weights as initializers),
// the ONNX model ONNX Runtime runs, so weights, inputs and ops are the same. Weights are seeded
// random rather than `scion init`'s: the DiT's adaLN-zero init makes its outputs exactly 0, which
// would make the agreement check vacuous. Before timing, the two outputs are compared (logged, and
// a disagreement beyond 1e-4 of the largest value stops the bench), so a wrong kernel cannot pass
// for a fast one. Per run each side takes its inputs from the host and reads every output back
// (ORT's session.run does both; Scion writes the inputs, steps and reads), timed interleaved: ms
// per forward. The goal is Scion ≥ 2×.
//
// The adapters: Scion runs on the bench's shared Dawn device (the `webgpu` package); ORT's Linux
// build links its own Dawn and does not say which adapter it took. Both go through the system
// Vulkan loader, whose only device on a GPU-less machine is Mesa's lavapipe (checked: with
// VK_ICD_FILENAMES naming lavapipe's ICD alone ORT's EP runs; naming none, it finds no adapter).
// Run alone with `npx tsx bench/onnx-webgpu.ts`.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deviceCompileOptions, tuneGraphForDevice } from '../backends/webgpu/tune-graph.ts';
import { type CompileOptions, compileGraph } from '../compiler/pipeline.ts';
import type { Graph } from '../compiler/ir/graph.ts';
import { parseProgram } from '../grammar/dsl/parse.ts';
import { encodeModel } from '../compiler/codegen/onnx/onnx-proto.ts';
import { toOnnx } from '../compiler/codegen/onnx/to-onnx.ts';
import { lowerModel } from '../compiler/lower/lower-model.ts';
import type { Tensor } from '../runtime/cpu/tensor.ts';
import { acquireDevice, type GpuDevice } from '../runtime/webgpu/device.ts';
import { WebGpuExecutor } from '../runtime/webgpu/executor.ts';
import { PipelineCache } from '../runtime/webgpu/pipeline-cache.ts';
import { FileTuneStore } from '../runtime/webgpu/tune-store-file.ts';
import { fill } from './fill.ts';
import { ORT_PEER_NAMES, openOrtSession } from './peers/onnxruntime-session.ts';
import { DEFAULT_TIMING, interleavedMsPerRun } from './timing.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

interface ForwardCase {
  name: string;
  spec: string;
  model: string;
  batch: number;
  /** Pinned model parameters, so figures stay comparable across spec edits. */
  overrides?: Record<string, number>;
}

/** The main job's llama and the LiT spec's DiT, at cpu-train-step.ts's batch sizes. */
export const FORWARD_CASES: readonly ForwardCase[] = [
  { name: 'llama-fwd-b16x64', spec: 'default.scion', model: 'TinyLlama', batch: 16, overrides: { ctx: 64 } },
  { name: 'dit-fwd-b16', spec: 'lit.scion', model: 'DiT', batch: 16 },
];

/** Inputs of the forward graph: floats in [-1, 1), ids in [0, 10) (valid tokens and classes alike). */
function inputsOf(graph: Graph): Map<string, Tensor> {
  const feeds = new Map<string, Tensor>();
  let seed = 1;
  for (const n of graph.nodes) {
    if (n.op !== 'input') continue;
    const data = fill(count(n.shape), seed++, 1);
    feeds.set(
      n.attrs['name'] as string,
      n.dtype === 'i32'
        ? { dtype: 'i32', shape: n.shape, data: Int32Array.from(data, (v) => Math.floor((v + 1) * 5)) }
        : { dtype: 'f32', shape: n.shape, data },
    );
  }
  return feeds;
}

// Five rounds and a longer budget than the default: on lavapipe one forward takes 0.3–10 s, and a
// shared 2-core machine's load swings within a run (seen: the llama's ratio 2.1× and 0.75× in two
// runs of three rounds each).
const ROUNDS = 5;
const TIMING = { ...DEFAULT_TIMING, budgetMs: 6000 };

const count = (shape: readonly number[]): number => shape.reduce((x, y) => x * y, 1);
const maxAbs = (v: ArrayLike<number>): number => Array.from(v).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

async function measureCase(c: ForwardCase, gpu: GpuDevice, cache: PipelineCache, tuned: CompileOptions, log: (line: string) => void): Promise<BenchResult> {
  const file = join(import.meta.dirname, '../specs', c.spec);
  const { program, diagnostics } = parseProgram(readFileSync(file, 'utf8'), `specs/${c.spec}`);
  if (diagnostics.length > 0) throw new Error(`specs/${c.spec} does not parse: ${diagnostics[0]?.message ?? ''}`);
  const { graph, params } = lowerModel(program, c.model, { dims: { batch: c.batch }, overrides: c.overrides ?? {} });
  const weights = new Map(params.map((p, k): [string, Tensor] => [p.path, { dtype: 'f32', shape: p.shape, data: fill(count(p.shape), 100 + k, 0.1) }]));
  const model = encodeModel(toOnnx(graph, { weights: new Map([...weights].map(([k, t]) => [k, t.data])), name: c.model })).model;
  const inputs = inputsOf(graph);
  const outputs = graph.outputs.map((o) => o.name);

  const art = compileGraph(graph, { ...tuned, features: gpu.features, verify: false });
  const ex = await WebGpuExecutor.create(gpu, art, cache);
  for (const [name, t] of weights) ex.write(name, t);
  const scion = async (): Promise<Map<string, Tensor>> => {
    for (const [name, t] of inputs) ex.write(name, t);
    await ex.step();
    return ex.readMany(outputs);
  };

  const ort = await openOrtSession('node-webgpu', model);
  try {
    if (typeof ort === 'string') {
      log(`${c.name}: ${ort}`);
      const ms = await interleavedMsPerRun(
        {
          scion: async (n: number) => {
            for (let i = 0; i < n; i++) await scion();
          },
        },
        ROUNDS,
        TIMING,
      );
      return result(`webgpu-vs-ort-${c.name}`, 'ms', ms.scion, null, ort, false);
    }
    // Same model, same inputs: the outputs must agree before the times mean anything.
    const [ours, theirs] = [await scion(), await ort.run(inputs)];
    for (const name of outputs) {
      const a = (ours.get(name) as Tensor).data;
      const b = theirs.get(name) as ArrayLike<number>;
      const [err, scale] = [maxAbs(Array.from(a, (x, i) => x - (b[i] as number))), maxAbs(b)];
      log(`${c.name}: '${name}' max |scion − ort| ${err.toExponential(2)} against max |ort| ${scale.toExponential(2)}`);
      if (!(scale > 0) || err > 1e-4 * scale) throw new Error(`bench onnx-webgpu: ${c.name} '${name}': Scion and ORT disagree (${err} against ${scale})`);
    }
    const ms = await interleavedMsPerRun(
      {
        scion: async (n: number) => {
          for (let i = 0; i < n; i++) await scion();
        },
        ort: async (n: number) => {
          for (let i = 0; i < n; i++) await ort.run(inputs);
        },
      },
      ROUNDS,
      TIMING,
    );
    log(`${c.name}: Scion ${ms.scion.toFixed(1)} ms, ${ORT_PEER_NAMES['node-webgpu']} ${ms.ort.toFixed(1)} ms (${(ms.ort / ms.scion).toFixed(2)}×)`);
    return result(`webgpu-vs-ort-${c.name}`, 'ms', ms.scion, ms.ort, ORT_PEER_NAMES['node-webgpu'], false);
  } finally {
    ex.destroy();
    if (typeof ort !== 'string') await ort.release();
  }
}

async function measure(gpu: GpuDevice, cache: PipelineCache, log: (line: string) => void): Promise<BenchResult[]> {
  const a = gpu.adapterInfo;
  log(
    `Scion on ${a.description || a.device || a.architecture} (${a.vendor}); ORT's own Dawn takes its adapter from the system Vulkan loader (lavapipe where there is no GPU)`,
  );
  // Compiled as `--device webgpu` compiles: with this adapter's tuned choices (stored, or timed now).
  const t = await tuneGraphForDevice(gpu, cache, new FileTuneStore());
  const opts = deviceCompileOptions(gpu, t);
  log(
    `Scion's tuning: matmul block ${t.matmulBlock.rows}×${t.matmulBlock.cols}${t.matmulTiles ? ' in workgroup-memory tiles' : ''}, subgroup reductions ${t.subgroups ? 'on' : 'off'}${t.fresh ? ' (timed now)' : ' (stored)'}, attention ${opts.attentionRows ?? 1} query row(s) per thread`,
  );
  const rows: BenchResult[] = [];
  for (const c of FORWARD_CASES) rows.push(await measureCase(c, gpu, cache, opts, log));
  return rows;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'onnx-webgpu',
    description: "Scion's compiled WebGPU forward vs onnxruntime-node's WebGPU EP on the same exported model: default llama b16×64, DiT b16, ms",
    needsGpu: true,
    run(ctx) {
      if (ctx.gpu === null) throw new Error(ctx.noGpuReason);
      return measure(ctx.gpu, ctx.cache ?? new PipelineCache(ctx.gpu), (line) => ctx.log(line));
    },
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const gpu = await acquireDevice();
  if (gpu.device === null) throw new Error(gpu.reason);
  for (const r of await measure(gpu, new PipelineCache(gpu), (line) => console.log(line))) console.log(JSON.stringify(r));
  gpu.destroy();
}
