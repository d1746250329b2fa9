// Taylor importance for UNets (ε-prediction diffusion models): the parent runs on calibration
// images noised at fixed timesteps, L is the mean squared error between its ε output and the noise
// added, and each weight scores Σ_batches |w ⊙ ∂L/∂w|, summed per unit over the unit's group, as
// for LMs (data-scoring.ts). Noise and timesteps are fixed (seeded), so scores are deterministic.
// Only `taylor` is offered for UNets: activation and learned-mask probes are LM-specific.
//
// Note: builds IR (loss, gradients) with the compiler, like data-scoring.ts.

import { grad, gradName } from '../../compiler/autodiff/grad.ts';
import { mean } from '../../compiler/ir/compose.ts';
import type { Node } from '../../compiler/ir/graph.ts';
import type { LoweredModel } from '../../compiler/lower/lower-model.ts';
import { runGraph } from '../cpu/run-graph.ts';
import type { Tensor } from '../cpu/tensor.ts';
import { loadMnist, type MnistSplit } from '../data/index.ts';
import type { UnitRule } from './choose.ts';
import type { DataScoring } from './inherit-model.ts';
import { InheritError } from './layout.ts';
import { LOSS, rebuild } from './probe.ts';
import type { DataRef } from './spec-fields.ts';
import { accumulateUnitNorms, type Dense } from './tensor-ops.ts';

const NOISE = 'calib:noise';

/** Whether `m` is an ε-prediction image model: an f32 [B, C, H, W] input, a timestep input and an output of the image's shape. */
export function isImageDiffusion(m: LoweredModel): boolean {
  const x = m.inputs.find((i) => i.dtype === 'f32' && i.shape.length === 4);
  const out = m.graph.outputs[0];
  return x !== undefined && out !== undefined && m.inputs.some((i) => i.shape.length === 1) && (m.graph.nodes[out.node] as Node).shape.join() === x.shape.join();
}

/** Deterministic standard normal values (mulberry32 + Box–Muller). */
function gaussians(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

/**
 * DataScoring for a UNet parent on `mnist(split, batches)` calibration images (the only image
 * source for now); `batches` overrides the source's count.
 */
export function unetScoring(parent: LoweredModel, read: (path: string) => Promise<Dense>, opts: { batches?: number; log?: (l: string) => void } = {}): DataScoring {
  const x = parent.inputs.find((i) => i.dtype === 'f32' && i.shape.length === 4)!;
  const t = parent.inputs.find((i) => i.shape.length === 1)!;
  const y = parent.inputs.find((i) => i.dtype === 'i32' && i.shape.length === 1);
  const epsName = parent.graph.outputs[0]!.name;
  const [bsz, ch, h, w] = x.shape as [number, number, number, number];
  let importance: Promise<Map<string, Float64Array>> | undefined;

  const compute = async (ref: DataRef | undefined): Promise<Map<string, Float64Array>> => {
    if (ref !== undefined && ref.source !== 'mnist') throw new InheritError([`taylor on a UNet calibrates on images: use mnist(split = …), not ${ref.source}(…)`]);
    // MNIST has train and test splits; any other split name (`calib`) calibrates on train images.
    const set = loadMnist((ref?.args.split === 'test' ? 'test' : 'train') satisfies MnistSplit);
    if (set.height !== h || set.width !== w || set.channels !== ch) throw new InheritError([`calibration images are ${set.channels}×${set.height}×${set.width} but ${parent.instance.name} takes ${ch}×${h}×${w}`]);
    const n = opts.batches ?? (typeof ref?.args.batches === 'number' ? ref.args.batches : 4);
    const names = parent.graph.nodes.filter((q) => q.op === 'param' && q.attrs['trainable'] === true).map((q) => q.attrs['name'] as string);
    const loss = rebuild(parent.graph, () => undefined, (b) => {
      const eps = b.nodes[b.outputs.find((o) => o.name === epsName)!.node] as Node;
      const d = b.sub(eps, b.input(NOISE, x.shape, 'f32'));
      b.output(LOSS, mean(b, b.mul(d, d)));
    }).graph;
    const g = grad(loss, LOSS, names);
    const params = new Map<string, Tensor>();
    for (const p of parent.params) {
      const v = await read(p.path);
      params.set(p.path, { dtype: 'f32', shape: v.shape, data: v.data });
    }
    const acc = new Map(names.map((k) => [k, new Float64Array(params.get(k)!.data.length)]));
    const per = ch * h * w;
    for (let k = 0; k < n; k++) {
      opts.log?.(`taylor: calibration batch ${k + 1}/${n}`);
      const noise = gaussians(bsz * per, 1000 + k);
      const xt = new Float32Array(bsz * per);
      const ts = new Float32Array(bsz);
      const labels = new Int32Array(bsz);
      for (let i = 0; i < bsz; i++) {
        const img = (k * bsz + i) % set.count;
        ts[i] = 50 + ((k * bsz + i) * 337) % 900;
        const ab = Math.cos((Math.PI / 2) * (ts[i]! / 1000)) ** 2; // ᾱ_t, cosine schedule
        labels[i] = set.labels[img] as number;
        // Images are [H, W, C]; the model takes [C, H, W], scaled to [−1, 1].
        for (let c = 0; c < ch; c++) for (let p = 0; p < h * w; p++) {
          const j = i * per + c * h * w + p;
          xt[j] = Math.sqrt(ab) * (2 * (set.images[img * per + p * ch + c] as number) - 1) + Math.sqrt(1 - ab) * (noise[j] as number);
        }
      }
      const feeds = new Map(params);
      feeds.set(x.name, { dtype: 'f32', shape: x.shape, data: xt });
      feeds.set(t.name, { dtype: 'f32', shape: t.shape, data: ts });
      if (y !== undefined) feeds.set(y.name, { dtype: 'i32', shape: y.shape, data: labels });
      feeds.set(NOISE, { dtype: 'f32', shape: x.shape, data: noise });
      const out = runGraph(g, feeds, { dtype: 'f32', outputs: names.map(gradName) });
      for (const name of names) {
        const wv = params.get(name)!.data;
        const dv = out.get(gradName(name))!.data;
        const a = acc.get(name)!;
        for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) + Math.abs((wv[i] as number) * (dv[i] as number));
      }
    }
    return acc;
  };

  return {
    layerScores: () => Promise.reject(new InheritError(['block influence and drop-one score the layers of a language model; UNet blocks are chosen with `blocks = …`'])),
    unitRule: (kind, rule): UnitRule => {
      if (rule.metric !== 'taylor') throw new InheritError([`${kind} = ${rule.metric}(…) is not available for UNets: use taylor(calib), l1 or l2`]);
      return {
        kind: 'metric', name: 'taylor',
        score: async (group) => {
          importance ??= compute(rule.calib);
          const imp = await importance;
          const scores = new Float64Array(group.units);
          for (const m of group.members) {
            const a = imp.get(m.path);
            const shape = parent.params.find((p) => p.path === m.path)?.shape;
            if (a === undefined || shape === undefined) continue;
            accumulateUnitNorms({ shape, data: Float32Array.from(a) }, m.axis, m.offset, m.unit, group.units, 1, scores);
          }
          return { scores };
        },
      };
    },
  };
}
