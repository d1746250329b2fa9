// LoRA insertion against independent expectations: B = 0 is the base model bit for bit; merging
// W + (alpha/r)·B·A into the plain model reproduces the adapted graph; gradients reach only A and
// B and agree with finite differences; PiSSA's base path is the pretrained W; dropout drops.

import { describe, expect, it } from 'vitest';
import { applyAdapter, adapterSpec, findAdapter, lowerAdapted } from '../../../compiler/adapters/index.ts';
import { grad, gradName } from '../../../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import { crossEntropy } from '../../../compiler/ir/compose.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { LowerError } from '../../../grammar/eval/errors.ts';
import { LLAMA, data, matmul, maxAbsDiff, numel, outputNode, parse, randoms, randomWeights, runWith, TOKENS, type Weights } from './helpers.ts';

const ADAPTER = (extra = ''): string => `${LLAMA}
adapter A on L {
  targets = ["layers.*.self_attn.q_proj", "layers.*.self_attn.v_proj", "layers.1.mlp.down_proj"]
  rank = 3
  alpha = 6
  ${extra}
}`;

/** The plain model, the adapted one, and base weights shared by both plus random A, B. */
function setup(extra = '', seedB = 3): { plain: ReturnType<typeof lowerModel>; am: ReturnType<typeof lowerAdapted>; w: Weights } {
  const prog = parse(ADAPTER(extra));
  const plain = lowerModel(prog, 'L', { dims: { batch: 2 } });
  const am = lowerAdapted(prog, 'A', { dims: { batch: 2 } });
  const w = randomWeights(plain, 7);
  am.adapterParams.forEach((p, k) => w.set(p.path, Float64Array.from(randoms(numel(p.shape), 500 + k + seedB * 31, 0.5))));
  return { plain, am, w };
}

describe('adapter insertion', () => {
  it('adds PEFT-named A [r, in] and B [out, r] beside each targeted Linear only', () => {
    const { am } = setup();
    const mods = ['layers.0.self_attn.q_proj', 'layers.0.self_attn.v_proj', 'layers.1.self_attn.q_proj', 'layers.1.self_attn.v_proj', 'layers.1.mlp.down_proj'];
    expect(am.sites.map((s) => s.module).sort()).toEqual([...mods].sort());
    const shapes = Object.fromEntries(am.adapterParams.map((p) => [p.path, p.shape]));
    // q_proj: 8 → 2·4 = 8, v_proj: 8 → 1 kv head · 4 = 4, down_proj: 12 → 8.
    expect(shapes['layers.0.self_attn.q_proj.lora_A.weight']).toEqual([3, 8]);
    expect(shapes['layers.0.self_attn.v_proj.lora_B.weight']).toEqual([4, 3]);
    expect(shapes['layers.1.mlp.down_proj.lora_A.weight']).toEqual([3, 12]);
    expect(am.adapterParams.every((p) => p.trainable)).toBe(true);
    expect(am.params.filter((p) => p.trainable).length).toBe(10);
    const frozen = am.graph.nodes.filter((n) => n.op === 'param' && n.attrs['trainable'] === false).length;
    expect(frozen).toBe(am.params.length - 10);
    expect(am.scale).toBe(2);
    expect(am.graph.outputs.map((o) => o.name)).toEqual(['logits', 'base.logits']);
  });

  it('with B = 0 the adapted model equals the base model exactly', () => {
    const { plain, am, w } = setup();
    for (const s of am.sites) w.set(s.loraB, new Float64Array(numel([s.outFeatures, 3])));
    const ref = data(runWith(plain.graph, plain.params, w), 'logits');
    const out = runWith(am.graph, am.params, w);
    expect(maxAbsDiff(data(out, 'logits'), ref)).toBe(0);
    expect(maxAbsDiff(data(out, 'base.logits'), ref)).toBe(0);
  });

  it('equals the plain model with merged weights W + (alpha/r)·B·A', () => {
    const { plain, am, w } = setup();
    const adapted = data(runWith(am.graph, am.params, w), 'logits');
    const merged = new Map(w);
    for (const s of am.sites) {
      const ba = matmul(w.get(s.loraB) as Float64Array, w.get(s.loraA) as Float64Array, s.outFeatures, 3, s.inFeatures); // [out, in]
      merged.set(
        s.weight,
        (w.get(s.weight) as Float64Array).map((v, k) => v + am.scale * (ba[k] as number)),
      );
    }
    const ref = data(runWith(plain.graph, plain.params, merged), 'logits');
    const base = data(runWith(plain.graph, plain.params, w), 'logits');
    expect(maxAbsDiff(adapted, base)).toBeGreaterThan(1e-3); // the adapter does something
    expect(maxAbsDiff(adapted, ref)).toBeLessThan(1e-12);
    expect(maxAbsDiff(data(runWith(am.graph, am.params, w), 'base.logits'), base)).toBe(0);
  });

  it('sends gradient only to A and B, matching finite differences', () => {
    const { am, w } = setup();
    const g = withLoss(am.graph, 'logits');
    expect(() => grad(g, 'loss', ['layers.0.self_attn.q_proj.weight'])).toThrow(/frozen/);
    const gg = grad(g, 'loss');
    const names = gg.outputs
      .filter((o) => o.name.startsWith('grad:'))
      .map((o) => o.name.slice(5))
      .sort();
    expect(names).toEqual(am.adapterParams.map((p) => p.path).sort());
    const out = runWith(gg, am.params, w);
    const lossAt = (ws: Weights): number => data(runWith(g, am.params, ws, { tokens: TOKENS }, ['loss']), 'loss')[0] as number;
    const eps = 1e-6;
    for (const name of ['layers.0.self_attn.q_proj.lora_A.weight', 'layers.1.self_attn.v_proj.lora_B.weight', 'layers.1.mlp.down_proj.lora_A.weight']) {
      const analytic = data(out, gradName(name));
      for (const k of [0, 4, 11]) {
        const shifted = (d: number): Weights => {
          const a = Float64Array.from(w.get(name) as Float64Array);
          a[k] = (a[k] as number) + d;
          return new Map(w).set(name, a);
        };
        const numeric = (lossAt(shifted(eps)) - lossAt(shifted(-eps))) / (2 * eps);
        expect(Math.abs((analytic[k] as number) - numeric), `${name}[${k}]`).toBeLessThan(1e-8 + 1e-6 * Math.abs(numeric));
      }
    }
  });

  it('keeps the pretrained W on the base path under PiSSA (W_res + s·B₀A₀)', () => {
    const { plain, am, w } = setup('init = pissa(niter = 4)');
    expect(am.sites.every((s) => s.initA !== undefined && s.initB !== undefined)).toBe(true);
    const pre = data(runWith(plain.graph, plain.params, w), 'logits'); // pretrained W
    const ws = new Map(w);
    for (const s of am.sites) {
      const a0 = w.get(s.loraA) as Float64Array;
      const b0 = w.get(s.loraB) as Float64Array;
      ws.set(s.initA as string, a0).set(s.initB as string, b0);
      const ba = matmul(b0, a0, s.outFeatures, 3, s.inFeatures);
      ws.set(
        s.weight,
        (w.get(s.weight) as Float64Array).map((v, k) => v - am.scale * (ba[k] as number)),
      );
    }
    const out = runWith(am.graph, am.params, ws);
    expect(maxAbsDiff(data(out, 'logits'), pre)).toBeLessThan(1e-12); // step 0: W_res + s·BA = W
    expect(maxAbsDiff(data(out, 'base.logits'), pre)).toBeLessThan(1e-12);
    // After A moves, the base path stays the pretrained model.
    const moved = new Map(ws);
    const s0 = am.sites[0];
    if (s0 === undefined) throw new Error('no site');
    moved.set(
      s0.loraA,
      (ws.get(s0.loraA) as Float64Array).map((v) => v + 0.3),
    );
    const out2 = runWith(am.graph, am.params, moved);
    expect(maxAbsDiff(data(out2, 'logits'), pre)).toBeGreaterThan(1e-5);
    expect(maxAbsDiff(data(out2, 'base.logits'), pre)).toBeLessThan(1e-12);
  });

  it('applies inverted dropout to the adapter input when training', () => {
    const prog = parse(`
model P(n = 40) {
  input x: f32[batch, n]
  output y = Linear(x, n, bias = false) as proj
}
adapter D on P { targets = ["proj"], rank = 40, alpha = 40, dropout = 0.25 }`);
    const am = lowerAdapted(prog, 'D', { dims: { batch: 50 }, train: true });
    expect(am.inputs.map((i) => i.name)).toEqual(['x', 'dropout_key']);
    const eye = new Float64Array(40 * 40).map((_v, k) => (k % 41 === 0 ? 1 : 0));
    const x = Float64Array.from(randoms(2000, 9, 1)).map((v) => v + Math.sign(v)); // |x| ≥ 1
    const w: Weights = new Map([
      ['proj.weight', new Float64Array(1600)],
      ['proj.lora_A.weight', eye],
      ['proj.lora_B.weight', eye],
    ]);
    const run = (seed: number): Float64Array =>
      data(
        runWith(am.graph, am.params, w, {
          x: { dtype: 'f32', shape: [50, 40], data: x },
          dropout_key: { dtype: 'i32', shape: [2], data: Int32Array.from([seed, 0]) },
        }),
        'y',
      );
    const y = run(1);
    // W = 0 and A = B = I, scale 1: y = dropout(x) — each entry is 0 or x/0.75.
    let dropped = 0;
    y.forEach((v, k) => {
      if (v === 0) dropped++;
      else expect(Math.abs(v - (x[k] as number) / 0.75)).toBeLessThan(1e-12);
    });
    expect(dropped / 2000).toBeGreaterThan(0.2);
    expect(dropped / 2000).toBeLessThan(0.3);
    expect(maxAbsDiff(run(2), y)).toBeGreaterThan(0); // another key, another mask
    // Evaluation graphs have no dropout: y = x exactly.
    const ev = lowerAdapted(prog, 'D', { dims: { batch: 50 } });
    expect(maxAbsDiff(data(runWith(ev.graph, ev.params, w, { x: { dtype: 'f32', shape: [50, 40], data: x } }), 'y'), x)).toBe(0);
  });

  it('reports a target that names no Linear', () => {
    const prog = parse(`${LLAMA}\nadapter N on L { targets = ["layers.*.input_layernorm"], rank = 2 }`);
    const spec = adapterSpec(findAdapter(prog, 'N'));
    const plain = lowerModel(prog, 'L');
    expect(() => applyAdapter(plain, spec)).toThrow(LowerError);
    try {
      applyAdapter(plain, spec);
    } catch (e) {
      expect((e as LowerError).diagnostic.code).toBe('E0603');
      expect((e as LowerError).message).toMatch(/matches 2 parameter\(s\) but no Linear weight/);
    }
  });

  it('reads defaults like PEFT (alpha 8, standard init, no dropout)', () => {
    const spec = adapterSpec(findAdapter(parse(`${LLAMA}\nadapter N on L { targets = ["lm_head"], rank = 4 }`), 'N'));
    expect(spec).toMatchObject({ rank: 4, alpha: 8, dropout: 0, init: { kind: 'zeros' }, targets: ['lm_head'], on: 'L' });
  });
});

/** graph plus `loss` = next-token cross-entropy of output `logits`. */
function withLoss(g: Graph, logitsName: string): Graph {
  const { builder: b, nodes } = GraphBuilder.from(g);
  const tokens = nodes.find((n) => n.op === 'input') as Node;
  const logits = nodes[outputNode(g, logitsName).id] as Node;
  const [bs, t] = tokens.shape as [number, number];
  const targets = b.concat([b.sliceAxis(tokens, 1, 1, t), b.full(-100, [bs, 1], 'i32')], 1);
  b.output('loss', crossEntropy(b, logits, targets, { ignoreIndex: -100 }));
  return b.build();
}
