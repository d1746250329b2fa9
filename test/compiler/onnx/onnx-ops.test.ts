// Generated from the op-case table (test/compiler/ops/op-cases.ts): every case exported as a
// one-op ONNX model, run in onnxruntime-node and compared with the CPU reference (f32) at the
// WebGPU backend's per-op tolerance. A new op without an ONNX rule fails here; ops ONNX_RULES
// marks unsupported must refuse with a message naming the op. The cases' VJPs (grad graphs) are
// exported and compared the same way.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { grad } from '../../../compiler/autodiff/grad.ts';
import { VJP_RULES } from '../../../compiler/autodiff/vjp-rules.ts';
import { ONNX_RULES } from '../../../compiler/codegen/onnx/onnx-rules.ts';
import { OnnxUnsupported } from '../../../compiler/codegen/onnx/to-onnx.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';
import { OPS } from '../../../compiler/ir/ops.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { feedsOf, lookup, maxRelErr, probeWeights } from '../ops/harness.ts';
import { FD_SKIPS, OP_CASES, type OpCase } from '../ops/op-cases.ts';
import { checkOnnxFiles, onnxChecker, runGraphInOrt, skipChecker, TOLERANCE } from './ort-harness.ts';
import { encodeModel } from '../../../compiler/codegen/onnx/onnx-proto.ts';
import { toOnnx } from '../../../compiler/codegen/onnx/to-onnx.ts';

function caseGraph(c: OpCase): { graph: Graph; feeds: Map<string, Tensor> } {
  const b = new GraphBuilder();
  const nodes = new Map<string, Node>();
  for (const [k, v] of Object.entries(c.inputs)) nodes.set(k, b.input(k, v.shape, v.dtype ?? 'f32'));
  b.output('y', c.build(b, lookup(nodes)));
  return { graph: b.build(), feeds: new Map([...feedsOf(c.inputs), ...feedsOf(c.params ?? {})]) };
}

/** loss = Σ cast(f(x))·W with every float input a trainable param; outputs the loss and its gradients. */
function gradGraph(c: OpCase): { graph: Graph; feeds: Map<string, Tensor> } | undefined {
  const wrt = Object.entries(c.inputs).filter(([, v]) => (v.dtype ?? 'f32') === 'f32');
  if (c.fd === false || VJP_RULES[c.op] === 'nondiff' || FD_SKIPS[c.op] || wrt.length === 0) return undefined;
  const b = new GraphBuilder();
  const nodes = new Map<string, Node>();
  for (const [k, v] of Object.entries(c.inputs)) nodes.set(k, wrt.some(([w]) => w === k) ? b.param(k, v.shape, 'f32') : b.input(k, v.shape, v.dtype ?? 'f32'));
  const out = b.cast(c.build(b, lookup(nodes)), 'f32');
  b.output('loss', b.sum(b.mul(out, b.constant(probeWeights(out.shape.reduce((p, d) => p * d, 1)), out.shape))));
  const graph = grad(
    b.build(),
    'loss',
    wrt.map(([k]) => k),
  );
  return { graph, feeds: new Map([...feedsOf(c.inputs), ...feedsOf(c.params ?? {})]) };
}

/**
 * ONNX float16 really rounds (as WebGPU's f16 does) where the reference holds f16 at working
 * precision, so a graph with f16 values is held to half precision's unit roundoff (2⁻¹¹ ≈ 4.9e-4).
 */
const F16_TOL = 1e-3;

async function compare(graph: Graph, feeds: Map<string, Tensor>, opTol: number): Promise<void> {
  const tol = graph.nodes.some((n) => n.dtype === 'f16') ? Math.max(opTol, F16_TOL) : opTol;
  const want = runGraph(graph, feeds, { dtype: 'f32' });
  const got = await runGraphInOrt(graph, feeds);
  for (const o of graph.outputs) {
    const w = want.get(o.name) as Tensor;
    const g = got.get(o.name);
    expect(g?.shape, o.name).toEqual([...w.shape]);
    expect(maxRelErr(g?.data ?? [], w.data), o.name).toBeLessThanOrEqual(tol);
  }
}

const refused = (c: OpCase): string | undefined => {
  const r = ONNX_RULES[c.op];
  return 'unsupported' in r ? r.unsupported : undefined;
};

describe('ONNX_RULES coverage', () => {
  it('every op has an op case here, so its rule (or its refusal) is exercised', () => {
    expect(OPS.filter((op) => !OP_CASES.some((c) => c.op === op))).toEqual([]);
  });
  it('refuses no op: every primitive has an ONNX form (the singular values as a Jacobi Loop)', () => {
    expect(OPS.filter((op) => 'unsupported' in ONNX_RULES[op])).toEqual([]);
  });
});

describe.each(OP_CASES.map((c) => [`${c.op}: ${c.name}`, c] as const))('%s', (_t, c) => {
  const reason = refused(c);
  if (reason !== undefined) {
    it(`refuses with a message naming '${c.op}'`, async () => {
      const { graph, feeds } = caseGraph(c);
      await expect(runGraphInOrt(graph, feeds)).rejects.toThrow(OnnxUnsupported);
      await expect(runGraphInOrt(graph, feeds)).rejects.toThrow(`op '${c.op}'`);
    });
    return;
  }
  it('forward in ONNX Runtime matches the reference', async () => {
    const { graph, feeds } = caseGraph(c);
    await compare(graph, feeds, TOLERANCE[c.op] ?? 1e-6);
  });
  const g = gradGraph(c);
  if (g !== undefined) {
    it('backward (its grad graph) in ONNX Runtime matches the reference', async () => {
      await compare(g.graph, g.feeds, Math.max(1e-5, TOLERANCE[c.op] ?? 0));
    });
  }
});

describe('the ONNX checker', () => {
  const checker = onnxChecker();
  it.skipIf(skipChecker(checker))('accepts every exportable op case, forward and backward, in one model (full_check: schemas and shape inference)', () => {
    const b = new GraphBuilder();
    OP_CASES.forEach((c, k) => {
      if (refused(c) !== undefined) return;
      const nodes = new Map<string, Node>();
      for (const [name, v] of Object.entries(c.inputs)) nodes.set(name, b.input(`c${k}.${name}`, v.shape, v.dtype ?? 'f32'));
      b.output(`y${k}`, c.build(b, lookup(nodes)));
    });
    const forward = join(mkdtempSync(join(tmpdir(), 'scion-onnx-ops-')), 'ops.onnx');
    writeFileSync(forward, encodeModel(toOnnx(b.build())).model);
    const grads = OP_CASES.flatMap((c, k) => {
      const g = refused(c) === undefined ? gradGraph(c) : undefined;
      if (g === undefined) return [];
      const file = join(dirname(forward), `grad${k}.onnx`);
      writeFileSync(file, encodeModel(toOnnx(g.graph)).model);
      return [file];
    });
    expect(checkOnnxFiles(checker, [forward, ...grads])).toBe('');
  });
});
