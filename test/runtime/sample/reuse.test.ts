// A-SDM feature reuse on a small lowered UNet-like model: the cut graph fed the true tap value
// equals the full graph; every = 1 equals no reuse bit for bit; every = 3 runs fewer full passes.

import { describe, expect, it } from 'vitest';
import { linearSchedule, respace } from '../../../compiler/objectives/diffusion-schedule.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { Prng } from '../../../runtime/data/prng.ts';
import { cachedDenoiser, cacheInputName, cutAtTap, feedsFor, graphDenoiser, sampleLoop, type GraphModel } from '../../../runtime/sample/index.ts';

const SPEC = `
model Net(size = 4, channels = 1, classes = 3) {
  input x: f32[batch, channels, size, size]
  input t: f32[batch]
  input y: i32[batch]
  temb = TimestepEmbedding(t, 8, freq_dim = 8) as temb + LabelEmbedding(y, classes, 8) as yemb
  h = Conv2d(x, 4) as conv_in
  d = ResBlock(h, 4, temb, groups = 2) as down
  u = ResBlock(concat(d, h, axis = 1), 4, temb, groups = 2) as up
  output eps = Conv2d(u, channels) as conv_out
}
`;

function setup(): { model: GraphModel; tap: number } {
  const { program, diagnostics } = parseProgram(SPEC, 'net.scion');
  if (diagnostics.length > 0) throw new Error(diagnostics[0]?.message);
  const m = lowerModel(program, 'Net', { dims: { batch: 2 } });
  const rng = new Prng(11);
  const weights = new Map<string, Tensor>(
    m.params.map((p) => [
      p.path,
      { dtype: 'f32', shape: p.shape, data: Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => 0.3 * rng.nextNormal()) },
    ]),
  );
  const tap = m.taps.get('down');
  if (tap === undefined) throw new Error('no tap down');
  return { model: { name: 'Net', graph: m.graph, weights, inputs: { x: 'x', t: 't', y: 'y' }, outputs: { eps: 'eps' } }, tap };
}

describe('feature reuse', () => {
  const { model, tap } = setup();
  const plan = respace(linearSchedule(1000), 10);
  const run = (denoiser: Parameters<typeof sampleLoop>[0]['denoiser']): Promise<Float64Array> =>
    sampleLoop({ plan, sampler: { kind: 'ddim', eta: 0 }, denoiser, shape: [2, 1, 4, 4], labels: Int32Array.of(0, 2), rng: new Prng(5) });

  it('cuts the graph at the tap: fewer nodes, the tap is an input, and fed the true value it equals the full graph', () => {
    const cut = cutAtTap(model.graph, tap, cacheInputName('down'));
    expect(cut.nodes.length).toBeLessThan(model.graph.nodes.length);
    expect(
      cut.nodes
        .filter((n) => n.op === 'input')
        .map((n) => n.attrs['name'])
        .sort(),
    ).toEqual(['cache:down', 't', 'x', 'y']);
    const x = Float64Array.from({ length: 32 }, (_, k) => Math.sin(k));
    const full = runGraph(
      { nodes: model.graph.nodes, outputs: [...model.graph.outputs, { name: 'tap', node: tap }] },
      feedsFor(model, model.graph, x, 321, Int32Array.of(1, 2)),
      { dtype: 'f32' },
    );
    const tapValue = full.get('tap') as Tensor;
    const part = runGraph(cut, feedsFor(model, cut, x, 321, Int32Array.of(1, 2), new Map([['cache:down', tapValue]])), { dtype: 'f32' });
    expect([...(part.get('eps')?.data ?? [])]).toEqual([...(full.get('eps')?.data ?? [])]);
  });

  it('every = 1 equals no reuse bit for bit; every = 3 runs 4 full and 6 partial passes over 10 steps', async () => {
    const plain = graphDenoiser(model);
    const reference = await run(plain);
    expect(plain.passes).toBe(10);

    const each = cachedDenoiser(model, tap, 'down', { every: 1 });
    expect([...(await run(each))]).toEqual([...reference]);
    expect([each.fullPasses, each.partialPasses]).toEqual([10, 0]);

    const third = cachedDenoiser(model, tap, 'down', { every: 3 });
    const reused = await run(third);
    expect([third.fullPasses, third.partialPasses]).toEqual([4, 6]); // full at steps 0, 3, 6, 9
    expect(third.partialNodes).toBeLessThan(third.fullNodes);
    // A stale tap changes the result, but only somewhat (the shallow path is recomputed).
    expect(reused.some((v, k) => v !== reference[k])).toBe(true);
    expect(reused.every((v) => Number.isFinite(v))).toBe(true);

    const listed = cachedDenoiser(model, tap, 'down', { steps: [0, 5] });
    await run(listed);
    expect([listed.fullPasses, listed.partialPasses]).toEqual([2, 8]);
  });
});
