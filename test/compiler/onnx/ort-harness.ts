// Running an exported graph in onnxruntime-node (CPU provider) on the reference's host tensors,
// and the per-op tolerances exports are held to.

import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import type { DType, Graph } from '../../../compiler/ir/graph.ts';
import { encodeModel } from '../../../compiler/codegen/onnx/onnx-proto.ts';
import { toOnnx, type ToOnnxOptions } from '../../../compiler/codegen/onnx/to-onnx.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';

/** Max |onnx − reference| / max(1, |reference|) per op: the table every backend is held to. */
export { TOLERANCE } from '../ops/tolerances.ts';

const ORT_TYPE: Record<DType, 'float32' | 'float16' | 'int32' | 'bool'> = { f32: 'float32', f16: 'float16', i32: 'int32', bool: 'bool' };

export function ortTensor(t: Tensor): ort.Tensor {
  const data =
    t.dtype === 'f32' ? Float32Array.from(t.data) : t.dtype === 'i32' ? Int32Array.from(t.data) : t.dtype === 'bool' ? Uint8Array.from(t.data) : null;
  if (data === null) throw new Error(`test harness: ${t.dtype} feeds are not supported`);
  return new ort.Tensor(ORT_TYPE[t.dtype], data, [...t.shape]);
}

export async function ortSession(model: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
}

/** Runs an ONNX model on feeds (only those the model declares) and returns its outputs as numbers. */
export async function runOrt(model: Uint8Array, feeds: ReadonlyMap<string, Tensor>): Promise<Map<string, { shape: number[]; data: ArrayLike<number> }>> {
  const session = await ortSession(model);
  try {
    const input: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames) {
      const t = feeds.get(name);
      if (t === undefined) throw new Error(`test harness: no feed for ONNX input '${name}'`);
      input[name] = ortTensor(t);
    }
    const out = await session.run(input);
    return new Map(
      Object.entries(out).map(([k, v]) => [k, { shape: [...v.dims], data: Array.from(v.data as ArrayLike<number | boolean | bigint>, (x) => Number(x)) }]),
    );
  } finally {
    await session.release();
  }
}

/** Exports `graph` and runs it in ONNX Runtime. */
export async function runGraphInOrt(
  graph: Graph,
  feeds: ReadonlyMap<string, Tensor>,
  opts: ToOnnxOptions = {},
): Promise<Map<string, { shape: number[]; data: ArrayLike<number> }>> {
  return runOrt(encodeModel(toOnnx(graph, opts)).model, feeds);
}

/** A python3 that can import onnx (Debian's python3-onnx), or the reason there is none. */
export function onnxChecker(): string | { python: string } {
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import onnx'], { encoding: 'utf8' });
    if (r.status === 0) return { python };
  }
  return 'no python3 with the onnx package (Debian: apt-get install python3-onnx)';
}

/** Skip with a printed reason where the checker is missing, except under CI=true, where the test must fail. */
export function skipChecker(checker: string | { python: string }): boolean {
  const skip = typeof checker === 'string' && process.env['CI'] !== 'true';
  if (skip) console.log(`skipping the ONNX checker test: ${checker as string}`);
  return skip;
}

/** Runs onnx.checker.check_model(full_check=True) on the files; returns its stderr ('' when all pass). */
export function checkOnnxFiles(checker: string | { python: string }, files: readonly string[]): string {
  if (typeof checker === 'string') throw new Error(`CI=true: ${checker}`);
  const script = 'import sys, onnx\nfor p in sys.argv[1:]: onnx.checker.check_model(onnx.load(p), full_check=True)';
  const r = spawnSync(checker.python, ['-c', script, ...files], { encoding: 'utf8' });
  return r.status === 0 ? r.stderr : `exit ${r.status}: ${r.stderr}`;
}
