// `scion eval FILE --model NAME --weights W.safetensors --input IN.safetensors -o OUT.safetensors
// [--device D] [--profile] [--f16] [--tap PATH…]`: one forward pass on the chosen backend;
// `--profile` runs it on WebGPU with timestamp queries and prints each kernel's time, slowest
// first, with the spec line it came from; `--f16` runs it on WebGPU with f16 weights.
// Without --input it is the validation mode (validate(), below):
// `scion eval FILE --model NAME --weights W [--data val] [--batches N] [--json]` reports the
// validation loss and perplexity of a language model against the unigram baseline; for a diffusion
// model (`--bands N`, default 10) ε-MSE per timestep band beside the per-class Gaussian denoiser
// (jobs/eval/eps-bands.ts). Inputs are tensors named
// like the spec's inputs; outputs and requested taps (a `let` name, layer path or `as` name) are
// written as tensors. Weights are read through the model's naming preset, every name and shape
// checked before any data is read.

import { isAbsolute, join, resolve } from 'node:path';
import type { Graph } from '../../compiler/ir/graph.ts';
import { LowerError, commandLineSpan } from '../../grammar/eval/errors.ts';
import { lowerModel, type LoweredModel } from '../../compiler/lower/lower-model.ts';
import { MappingError } from '../../compiler/presets/index.ts';
import { loadWeights } from '../../jobs/weights/load-weights.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../runtime/weights/index.ts';
import { trainedModel } from '../../jobs/train/defaults.ts';
import { tokenInput } from '../../jobs/train/token-stream.ts';
import { command, commandSpec, usageError } from '../flags.ts';
import { EXIT, type Io } from '../io.ts';
import { loadSpec, reportLowerError } from '../spec.ts';
import { checkOutputFile, refuseOwnInput } from '../outputs.ts';
import { dirname } from 'node:path';
import { findTrain, trainConfig } from '../../compiler/lower/lower-train-config.ts';
import { lowerTrain } from '../../compiler/lower/lower-train.ts';
import { referenceBackend } from '../../backends/reference/index.ts';
import { DeviceUnavailable, type Backend } from '../../backends/backend.ts';
import { selectBackend, type DeviceChoice } from '../../backends/registry.ts';
import { createWebGpuBackend, type WebGpuBackend } from '../../backends/webgpu/index.ts';
import { runArtifact, type KernelTiming } from '../../runtime/webgpu/executor.ts';
import { acquireDevice } from '../../runtime/webgpu/device.ts';
import { compileGraph } from '../../compiler/pipeline.ts';
import { DEFAULT_LIMITS, type DeviceLimits } from '../../compiler/codegen/wgsl/legalize.ts';
import { unigramEntropy } from '../../jobs/train/baseline.ts';
import { bitsPerByteOf, byteLengths } from '../../jobs/train/bits-per-byte.ts';
import { JobError } from '../../jobs/train/errors.ts';
import { encodeStream, evalBatches, sourceTexts } from '../../jobs/train/lm-data.ts';
import { evaluateLm } from '../../jobs/train/train-lm.ts';
import { readTokenizerJson } from '../../runtime/tokenizer/index.ts';
import type { Program } from '../../grammar/ast.ts';
import { needsExampleJob } from '../../jobs/train/prepare-examples.ts';
import { validateExamples } from '../../jobs/train/example-job.ts';
import { bandTable, epsBands, trainsDiffusion } from '../../jobs/eval/eps-bands.ts';

export const SPEC = commandSpec({
  name: 'eval',
  about: `Runs one forward pass (on the CPU reference unless --device says otherwise) and writes outputs and taps as tensors:
FILE --model --weights --input -o. --profile times the WebGPU kernels; --f16 runs f16 weights on WebGPU.
Without --input and -o it reports validation loss: the loss and perplexity of a language model against the unigram
baseline, or the loss and accuracy of other tasks, over --batches batches of the --data split. For a diffusion model
it prints ε-MSE in --bands equal timestep bands (default 10; --batches default 4 per band) beside the per-class
Gaussian denoiser's, the ratio, and where the model beats it.`,
  args: { name: 'FILE', min: 1, max: 1 },
  flags: ['model', 'weights', 'input', 'out', 'device', 'profile', 'f16', 'tap', 'batch', 'data', 'batches', 'bands', 'json'],
  placeholders: { out: 'OUT.safetensors' },
});

/** The graph with extra outputs `tap:PATH` for each requested tap. */
export function withTaps(m: LoweredModel, taps: readonly string[]): Graph {
  const extra = taps.map((t) => {
    const node = m.taps.get(t);
    if (node === undefined)
      throw new LowerError('E0903', `no tap '${t}' in model '${m.instance.name}'`, commandLineSpan('--tap'), [
        { message: `taps: ${[...m.taps.keys()].filter((k) => !k.includes('@')).join(', ')}` },
      ]);
    return { name: `tap:${t}`, node };
  });
  return { nodes: m.graph.nodes, outputs: [...m.graph.outputs, ...extra] };
}

export const run = command(SPEC, async ({ flags: opt, args: [file = ''] }, io) => {
  const { tap: taps, batch, device, profile, f16 } = opt;
  if (opt.input === undefined && opt.out === undefined && opt.weights !== undefined) {
    const program = loadSpec(file, io, 'eval');
    if (program === undefined) return EXIT.inputError;
    const model = trainedModel(program, opt.model);
    if (model === undefined) throw usageError(SPEC, 'the spec trains no model: give --model NAME');
    const weights = isAbsolute(opt.weights) ? opt.weights : resolve(io.cwd, opt.weights);
    try {
      // Diffusion models always train on examples (images): the cheap syntactic test goes first.
      if (opt.bands !== undefined || (needsExampleJob(program, model) && trainsDiffusion(program, model))) {
        const r = await epsBands(program, model, weights, {
          split: opt.data ?? 'val',
          bands: opt.bands ?? 10,
          maxBatches: opt.batches ?? 4,
          device: device ?? 'reference',
          cwd: io.cwd,
          log: (line) => io.err(`${line}\n`),
        });
        io.out(opt.json ? `${JSON.stringify(r)}\n` : bandTable(r));
        return EXIT.ok;
      }
    } catch (error) {
      return evalFailure(error, io);
    }
    return validate(program, model, weights, opt.data ?? 'val', opt.batches ?? 64, opt.json, io);
  }
  if (opt.model === undefined || opt.weights === undefined || opt.input === undefined || opt.out === undefined) {
    throw usageError(SPEC, 'need FILE, --model, --weights, --input and -o (or FILE and --weights for validation loss)');
  }
  const offGpu = device !== undefined && device !== 'auto' && device !== 'webgpu';
  if (profile && offGpu) throw usageError(SPEC, `--profile times WebGPU kernels: it cannot run with --device ${device}`);
  if (f16 && (offGpu || profile)) throw usageError(SPEC, `--f16 runs f16 weights on WebGPU: not with ${profile ? '--profile' : `--device ${device}`}`);
  const program = loadSpec(file, io, 'eval');
  if (program === undefined) return EXIT.inputError;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(io.cwd, p));
  checkOutputFile(abs(opt.out), opt.out);
  refuseOwnInput(abs(opt.out), opt.out, [abs(file), abs(opt.input), abs(opt.weights)]);
  const inputs = await openSafetensors(abs(opt.input));
  let weights: Awaited<ReturnType<typeof openSafetensors>>;
  try {
    weights = await openSafetensors(abs(opt.weights));
  } catch (error) {
    await inputs.close();
    throw error;
  }
  try {
    // The batch comes from the input file unless given: the first input's leading axis.
    let m = lowerModel(program, opt.model, batch === undefined ? {} : { dims: { batch } });
    const first = m.inputs[0];
    const given = first === undefined ? undefined : inputs.tensors.get(first.name)?.shape[0];
    if (batch === undefined && given !== undefined && given !== first?.shape[0]) m = lowerModel(program, opt.model, { dims: { batch: given } });
    const graph = withTaps(m, taps);
    const feed = new Map<string, Tensor>();
    const problems: string[] = [];
    for (const i of m.inputs) {
      const s = inputs.tensors.get(i.name);
      if (s === undefined) problems.push(`the input file has no tensor '${i.name}' (${i.dtype}[${i.shape.join(', ')}])`);
      else if (s.shape.join(',') !== i.shape.join(',')) problems.push(`input '${i.name}' is [${s.shape.join(', ')}], the model takes [${i.shape.join(', ')}]`);
      else {
        const data = (await inputs.read(i.name)) as ArrayLike<number>;
        feed.set(i.name, { dtype: i.dtype, shape: i.shape, data: i.dtype === 'i32' ? Int32Array.from(data) : Float32Array.from(data) });
      }
    }
    if (problems.length > 0) {
      io.err(`scion eval: inputs do not fit:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
      return EXIT.inputError;
    }
    for (const [path, t] of await loadWeights(m, weights)) feed.set(path, { dtype: 'f32', shape: t.shape, data: t.data });
    const out = f16 ? await forwardF16(graph, feed) : await forward(graph, feed, device ?? 'reference', profile, io);
    const tensors = new Map<string, TensorToWrite>();
    for (const [name, t] of out) {
      tensors.set(
        name,
        t.dtype === 'i32' || t.dtype === 'bool'
          ? { dtype: 'I32', shape: t.shape, data: Int32Array.from(t.data) }
          : { dtype: 'F32', shape: t.shape, data: Float32Array.from(t.data) },
      );
    }
    await writeSafetensors(abs(opt.out), tensors, { scion_model: opt.model });
    io.out(`${opt.out}: ${[...out.entries()].map(([k, t]) => `${k} [${t.shape.join(', ')}]`).join(', ')}\n`);
    return EXIT.ok;
  } catch (error) {
    return evalFailure(error, io);
  } finally {
    await inputs.close();
    await weights.close();
  }
});

/**
 * The forward pass on the `--device` backend. With `profile` it runs on WebGPU (any adapter,
 * software included, since the kernels are what is timed), prints the per-kernel table to stdout
 * and returns the outputs of that same step.
 */
async function forward(graph: Graph, feed: ReadonlyMap<string, Tensor>, device: DeviceChoice, profile: boolean, io: Io): Promise<Map<string, Tensor>> {
  let backend: Backend | WebGpuBackend;
  if (profile) {
    const r = await createWebGpuBackend(graph, { allowSoftware: true, timestamps: true });
    if (!('run' in r)) throw new DeviceUnavailable(`--profile needs WebGPU: ${r.reason}`);
    backend = r;
  } else backend = await selectBackend(device, graph, (line) => io.err(`${line}\n`));
  try {
    if (!profile || backend.name !== 'webgpu' || !('profile' in backend)) return await backend.run(graph, feed);
    let timings: KernelTiming[];
    try {
      timings = await backend.profile(graph, feed);
    } catch (error) {
      throw new DeviceUnavailable(`--profile: ${(error as Error).message}`);
    }
    io.out(profileTable(timings));
    return await backend.run(graph, feed);
  } finally {
    backend.dispose();
  }
}

/**
 * `--f16`: the forward pass on WebGPU with the weights stored as f16 (arithmetic in f32;
 * codegen/wgsl/f16-storage.ts), on any adapter with shader-f16, software ones included.
 */
async function forwardF16(graph: Graph, feed: ReadonlyMap<string, Tensor>): Promise<Map<string, Tensor>> {
  const gpu = await acquireDevice();
  if (gpu.device === null) throw new DeviceUnavailable(`--f16 needs WebGPU: ${gpu.reason}`);
  try {
    if (!gpu.features.has('shader-f16')) throw new DeviceUnavailable('--f16: the WebGPU adapter lacks the shader-f16 feature');
    const limits = { ...DEFAULT_LIMITS };
    for (const k of Object.keys(limits) as (keyof DeviceLimits)[]) limits[k] = gpu.limits[k] ?? limits[k];
    return await runArtifact(gpu, compileGraph(graph, { precision: 'f16', features: gpu.features, limits, verify: false }), feed);
  } finally {
    gpu.destroy();
  }
}

/** Per-kernel times, slowest first, with share of the total and the spec source of each kernel. */
export function profileTable(timings: readonly KernelTiming[]): string {
  const gpu = timings.filter((t) => Number.isFinite(t.ms));
  const total = gpu.reduce((s, t) => s + t.ms, 0);
  const rows = [...gpu].sort((a, b) => b.ms - a.ms || a.kernel - b.kernel);
  const host = timings.length - gpu.length;
  const lines = [`profile: ${gpu.length} kernels, ${total.toFixed(3)} ms on the GPU${host > 0 ? ` (${host} host kernels not timed)` : ''}`];
  lines.push('      ms      %  kernel  source                                ops');
  for (const t of rows) {
    const pct = total > 0 ? (100 * t.ms) / total : 0;
    lines.push(`${t.ms.toFixed(3).padStart(8)} ${pct.toFixed(1).padStart(6)}  ${`#${t.kernel}`.padStart(6)}  ${(t.source ?? '?').padEnd(36)}  ${t.name}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Validation mode: the mean cross-entropy (the loss's cross_entropy term, else the whole loss) of
 * the trained weights on up to `maxBatches` fixed batches of the `split` of the spec's training
 * data, tokenized by the tokenizer.json beside the weights, with perplexity and the unigram baseline.
 */
async function validate(
  program: Parameters<typeof findTrain>[0],
  model: string,
  weightsPath: string,
  split: string,
  maxBatches: number,
  json: boolean,
  io: Io,
): Promise<number> {
  if (!Array.isArray(program) && needsExampleJob(program as Program, model)) {
    // Images, classification and multi-round specs: loss and accuracy (jobs/train/example-job.ts).
    try {
      const r = await validateExamples(program as Program, model, weightsPath, split, maxBatches, io.cwd);
      if (json) io.out(`${JSON.stringify(r)}\n`);
      else
        io.out(
          `${split}: loss ${r.loss.toFixed(4)}${r.accuracy === null ? '' : `, accuracy ${(100 * r.accuracy).toFixed(2)}%`} over ${r.examples.toLocaleString('en-US')} examples\n`,
        );
      return EXIT.ok;
    } catch (error) {
      return evalFailure(error, io);
    }
  }
  const reader = await openSafetensors(weightsPath);
  try {
    const decl = findTrain(program, model);
    if (decl === undefined) throw new JobError(`the spec has no \`train ${model}\` declaration to take the data from`);
    const config = trainConfig(decl, program);
    const t = lowerTrain(program, model, { batch: config.batch, grads: false });
    const tokens = tokenInput(t);
    const tokenizer = await readTokenizerJson(join(dirname(weightsPath), 'tokenizer.json'));
    // `val` is the spec's eval data when it declares one; otherwise that split of its training source.
    const d = split === 'val' && config.eval !== undefined ? config.eval.data : config.data;
    const where = `${d.span.file}:${d.span.start.line}`;
    const data = encodeStream(tokenizer, await sourceTexts({ source: d.source, args: d === config.data ? { ...d.args, split } : d.args, where }, io.cwd));
    const batches = evalBatches(data, tokens.ctx, config.batch, maxBatches);
    const feeds = new Map<string, Tensor>();
    for (const [path, w] of await loadWeights(t.student, reader)) feeds.set(path, { dtype: 'f32', shape: w.shape, data: w.data });
    const evalOutput = t.terms.find((x) => x.callee === 'cross_entropy')?.output ?? 'loss';
    const loss = await evaluateLm(
      { graph: t.graph, tokensInput: tokens.name, batch: config.batch, ctx: tokens.ctx, evalOutput },
      referenceBackend,
      feeds,
      batches,
    );
    const bitsPerByte = evalOutput === 'loss' ? null : bitsPerByteOf(loss, batches, tokens.ctx, byteLengths(tokenizer));
    const r = { split, tokens: batches.length * config.batch * tokens.ctx, loss, perplexity: Math.exp(loss), bitsPerByte, baselineLoss: unigramEntropy(data) };
    if (json) io.out(`${JSON.stringify(r)}\n`);
    else
      io.out(
        `${split}: loss ${loss.toFixed(4)} nats/token${bitsPerByte === null ? '' : ` (${bitsPerByte.toFixed(3)} bits per byte)`}, perplexity ${r.perplexity.toFixed(2)} over ${r.tokens.toLocaleString('en-US')} tokens (unigram baseline ${r.baselineLoss.toFixed(4)})\n`,
      );
    return EXIT.ok;
  } catch (error) {
    return evalFailure(error, io);
  } finally {
    await reader.close();
  }
}

/**
 * The user errors of eval's modes — a checkpoint that does not fit the model, no device, a job the
 * spec cannot run — print their message and exit 1; lowering errors go to reportLowerError.
 */
function evalFailure(error: unknown, io: Io): number {
  if (error instanceof JobError || error instanceof MappingError || error instanceof DeviceUnavailable) {
    io.err(`scion eval: ${error.message}\n`);
    return EXIT.inputError;
  }
  return reportLowerError(error, io);
}
