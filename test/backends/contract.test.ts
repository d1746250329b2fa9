// The Backend interface, held over every backend in the registry (one table; a backend that
// cannot open here is skipped with its reason, a failure under CI=true where lavapipe is
// installed): compile, write, run with partly written values, read of outputs and written values,
// a refused run when a value was never given, idempotent dispose. Outputs are checked against
// values computed by hand for y = relu(x·w) + b.

import { afterAll, describe, expect, it } from 'vitest';
import { BACKEND_NAMES, BACKENDS, selectBackend } from '../../backends/registry.ts';
import type { Backend } from '../../backends/backend.ts';
import { parseGraph } from '../../compiler/ir/text.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { device } from '../../cli/flags.ts';

// y[2,3] = relu(x[2,2] · w[2,3]) + b[3]
const GRAPH = parseGraph(`%0: f32[2,2] = input {name="x"}
%1: f32[2,3] = param {name="w", trainable=true}
%2: f32[3] = param {name="b", trainable=true}
%3: f32[2,3] = matmul %0, %1
%4: f32[2,3] = relu %3
%5: f32[2,3] = add %4, %2
output "y" = %5
`);
const f32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'f32', shape, data: Float32Array.from(values) });
const X1 = f32([2, 2], [1, 2, -1, 0.5]);
const X2 = f32([2, 2], [0, 1, 2, -3]);
const W = f32([2, 3], [1, -1, 0.5, 2, 1, -2]);
const B = f32([3], [0.25, -0.5, 1]);
// x·w by hand: X1 → [[5, 1, -3.5], [0, 1.5, -1.5]]; X2 → [[2, 1, -2], [-4, -5, 7]].
const Y1 = [5.25, 0.5, 1, 0.25, 1, 1];
const Y2 = [2.25, 0.5, 1, 0.25, -0.5, 8];

const opened = new Map<string, Backend | string>();
for (const name of BACKEND_NAMES) {
  const entry = await BACKENDS[name]();
  const r = await entry.open(GRAPH, true);
  opened.set(name, 'reason' in r ? r.reason : r);
}
afterAll(() => {
  for (const b of opened.values()) if (typeof b !== 'string') b.dispose();
});

describe.each(BACKEND_NAMES)('backend %s', (name) => {
  const b = opened.get(name);
  if (typeof b === 'string') {
    if (process.env['CI'] === 'true') it('opens (required under CI=true)', () => expect.fail(`${name}: ${b}`));
    else it.skip(`cannot open here: ${b}`, () => undefined);
    return;
  }
  const backend = b as Backend;
  const close = (got: Tensor | undefined, want: number[]): void => {
    expect(got?.shape).toEqual([2, 3]);
    want.forEach((v, i) => expect(got?.data[i] as number).toBeCloseTo(v, 5));
  };

  it('has its registry name', () => expect(backend.name).toBe(name));
  it('runs with parameters written once and inputs fed per run', async () => {
    await backend.compile(GRAPH);
    await backend.write(
      GRAPH,
      new Map([
        ['w', W],
        ['b', B],
      ]),
    );
    close((await backend.run(GRAPH, new Map([['x', X1]]))).get('y'), Y1);
    // A value the graph does not take is ignored, as by the CPU interpreter.
    const feeds = new Map([['x', X2]]).set('not_in_graph', B);
    close((await backend.run(GRAPH, feeds, ['y'])).get('y'), Y2);
  });
  it('reads back the last outputs and the values it holds', async () => {
    const r = await backend.read(GRAPH, ['y', 'w', 'x']);
    close(r.get('y'), Y2);
    expect(Array.from(r.get('w')?.data ?? [])).toEqual(Array.from(W.data));
    expect(Array.from(r.get('x')?.data ?? [])).toEqual(Array.from(X2.data));
  });
  it('refuses a run when a value was never given', async () => {
    const fresh = await (await BACKENDS[name]()).open(GRAPH, true);
    if ('reason' in fresh) throw new Error(fresh.reason);
    try {
      await expect(fresh.run(GRAPH, new Map([['x', X1]]))).rejects.toThrow(/'(w|b)'/);
    } finally {
      fresh.dispose();
      fresh.dispose();
    }
  });
});

describe('the registry', () => {
  it('gives the named backend', async () => {
    const b = await selectBackend('reference', GRAPH, () => undefined);
    expect(b.name).toBe('reference');
    b.dispose();
  });
  it('auto takes the first backend that opens and says why earlier ones declined', async () => {
    const notes: string[] = [];
    const b = await selectBackend('auto', GRAPH, (line) => notes.push(line));
    try {
      const first = BACKEND_NAMES.findIndex((n) => typeof opened.get(n) !== 'string' && n === b.name);
      expect(first).toBeGreaterThanOrEqual(0);
      // webgpu first when auto takes its adapter; cpu (ONNX Runtime) opens for this graph wherever
      // onnxruntime-node loads, so the reference is reached only without it.
      if (b.name === 'webgpu') expect(notes).toEqual([]);
      else if (b.name === 'cpu') expect(notes).toEqual([expect.stringMatching(/^note: running on ONNX Runtime on the CPU \(WebGPU not used: .+\)$/)]);
      else
        expect(notes).toEqual([
          expect.stringMatching(/^note: running on the CPU reference backend \(WebGPU not used: .+; ONNX Runtime on the CPU not used: .+\)$/),
        ]);
    } finally {
      b.dispose();
    }
  });
  it('--device takes auto and the registry names, and lists them when it refuses', () => {
    expect(device('auto', '--device')).toBe('auto');
    for (const n of BACKEND_NAMES) expect(device(n, '--device')).toBe(n);
    expect(() => device('tpu', '--device')).toThrow(`--device must be auto or one of ${BACKEND_NAMES.join(', ')}, got 'tpu'`);
  });
});
