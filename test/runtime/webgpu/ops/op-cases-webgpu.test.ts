// Every case of the op table (test/compiler/ops/op-cases.ts) through the WebGPU path — fusion,
// memory plan, WGSL codegen, executor — against the CPU reference in f32, at a stated tolerance
// per op. All cases are compiled as ONE graph (they are independent, so horizontal fusion packs
// them into a few dispatches and lavapipe compiles a few shaders instead of ~90).

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../../compiler/ir/builder.ts';
import type { Node } from '../../../../compiler/ir/graph.ts';
import { tensor, type Tensor } from '../../../../runtime/cpu/tensor.ts';
import { OP_CASES } from '../../../compiler/ops/op-cases.ts';
import { TOLERANCE } from '../../../compiler/ops/tolerances.ts';
import { gpuForTests } from '../gpu-fixture.ts';
import { compareWithCpu, relErr, type Compared } from './helpers.ts';

const { gpu } = await gpuForTests();

describe.skipIf(gpu === null)('every op case on WebGPU matches the CPU reference (f32)', () => {
  const b = new GraphBuilder();
  const feeds = new Map<string, Tensor>();
  OP_CASES.forEach((c, k) => {
    const nodes = new Map<string, Node>();
    for (const [name, v] of Object.entries(c.inputs)) {
      nodes.set(name, b.input(`c${k}.${name}`, v.shape, v.dtype ?? 'f32'));
      feeds.set(`c${k}.${name}`, tensor(v.values, v.shape, v.dtype ?? 'f32'));
    }
    for (const [name, v] of Object.entries(c.params ?? {})) feeds.set(name, tensor(v.values, v.shape, v.dtype ?? 'f32'));
    b.output(
      `y${k}`,
      c.build(
        b,
        (name) =>
          nodes.get(name) ??
          (() => {
            throw new Error(`test bug: ${name}`);
          })(),
      ),
    );
  });
  const g = b.build();
  let result: Compared | undefined;
  const run = async (): Promise<Compared> => (result ??= await compareWithCpu(gpu!, g, feeds));

  // Long timeout: cold shader compilation on lavapipe (Mesa caches the result on disk).
  it('packs ~90 independent cases into a handful of dispatches (plus the host svd kernels)', { timeout: 300_000 }, async () => {
    const r = await run();
    const svd = OP_CASES.filter((c) => c.op.startsWith('svd')).length;
    // A log_softmax along a non-last axis expands to a column max, a column Σ exp and the map:
    // column reductions are not kept in a row kernel, so they are dependent dispatches (2 more).
    const columns = OP_CASES.filter((c) => c.op === 'log_softmax' && c.name.startsWith('columns')).length * 2;
    expect(r.dispatches - svd - columns).toBeLessThanOrEqual(3);
  });

  it.each(OP_CASES.map((c, k) => [`${c.op}: ${c.name}`, k] as const))('%s', async (_t, k) => {
    const r = await run();
    const c = OP_CASES[k]!;
    const got = r.gpu.get(`y${k}`)!;
    const want = r.cpu.get(`y${k}`)!;
    expect(got.shape).toEqual(want.shape);
    expect(got.dtype).toBe(want.dtype);
    if (c.check) c.check(got.data, got.shape); // the case's own property check, on GPU values
    expect(relErr(got.data, want.data)).toBeLessThanOrEqual(TOLERANCE[c.op] ?? 1e-6);
  });
});
