// Graph outputs in ONNX: an output names the node that computes it (no Identity copy), except where
// a copy is the only way to name it — a second output of the same value, or an output that is an
// input. The values are checked in ONNX Runtime against the f64 reference.

import { describe, expect, it } from 'vitest';
import { toOnnx } from '../../../compiler/codegen/onnx/to-onnx.ts';
import { encodeModel } from '../../../compiler/codegen/onnx/onnx-proto.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { runOrt } from './ort-harness.ts';

function graph() {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 3]);
  const y = b.exp(x);
  const z = b.sum(b.mul(y, x));
  b.output('y', y); // the value z also reads
  b.output('z', z);
  b.output('y_again', y); // a second name for one value
  b.output('x_out', x); // an input as an output
  return b.build();
}

describe('ONNX graph outputs', () => {
  it('name the computing node, with an Identity only for a repeated value or an input', () => {
    const onnx = toOnnx(graph());
    const identities = onnx.nodes.filter((n) => n.op === 'Identity');
    expect(identities.map((n) => n.outputs[0]).sort()).toEqual(['x_out', 'y_again']);
    // Every output is made by exactly one node; nothing else is called by an output's name.
    for (const o of onnx.outputs) expect(onnx.nodes.filter((n) => n.outputs.includes(o.name))).toHaveLength(1);
    // z's product reads y under the output's own name.
    expect(onnx.nodes.some((n) => n.op === 'Mul' && n.inputs.includes('y'))).toBe(true);
  });

  it('give ONNX Runtime the reference values for each output', async () => {
    const g = graph();
    const x: Tensor = { dtype: 'f32', shape: [2, 3], data: Float32Array.from([-1, 0, 0.5, 1, 2, -3]) };
    const feeds = new Map([['x', x]]);
    const want = runGraph(g, feeds, { dtype: 'f64' });
    const got = await runOrt(encodeModel(toOnnx(g)).model, feeds);
    for (const name of ['y', 'z', 'y_again', 'x_out']) {
      const w = Array.from((want.get(name) as Tensor).data);
      const o = Array.from((got.get(name) as { data: ArrayLike<number> }).data);
      expect(o.length).toBe(w.length);
      o.forEach((v, i) => expect(v).toBeCloseTo(w[i] as number, 5));
    }
  });
});
