// Data-driven channel scores for UNets (ε-prediction diffusion models): the parent runs on
// calibration images noised at fixed timesteps, and L is the mean squared error between its ε
// output and the noise added. Noise and timesteps are fixed (seeded), so scores are deterministic.
//   taylor       — Σ_batches |w ⊙ ∂L/∂w|, summed per unit over the unit's group, as for LMs;
//   activation   — mean |x| per channel of the space's producing layer output (its owner: the conv,
//                  shortcut ResBlock, CondConv or embedding that makes the channels), over batch,
//                  height and width, averaged over the unit's GroupNorm-group channels;
//   learned_mask — a sigmoid score per unit multiplying that same output, trained with the
//                  straight-through hard top-k as for LMs (learned-mask.ts), parent frozen.
//
// Note: builds IR (loss, gradients) with the compiler, like data-scoring.ts.

import { grad, gradName } from '../../../compiler/autodiff/grad.ts';
import { mean } from '../../../compiler/ir/compose.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';
import type { LoweredModel } from '../../../compiler/lower/lower-model.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { loadMnist, type MnistSplit } from '../../../runtime/data/index.ts';
import type { AxisGroup } from '../layout/axes.ts';
import { channelSpaces } from '../layout/channels.ts';
import type { GroupScores, UnitRule } from '../select/choose.ts';
import type { DataScoring } from '../types.ts';
import { InheritError } from '../layout/layout.ts';
import { layoutOf } from '../layout/layout-from-model.ts';
import { trainMaskSites, type MaskSite } from './learned-mask.ts';
import { LOSS, rebuild } from './probe.ts';
import type { DataRef } from '../spec/spec-fields.ts';
import { accumulateUnitNorms, type Dense } from '../tensor-ops.ts';

const NOISE = 'calib:noise';

/** Whether `m` is an ε-prediction image model: an f32 [B, C, H, W] input, a timestep input and an output of the image's shape. */
export function isImageDiffusion(m: LoweredModel): boolean {
  const x = m.inputs.find((i) => i.dtype === 'f32' && i.shape.length === 4);
  const out = m.graph.outputs[0];
  return (
    x !== undefined && out !== undefined && m.inputs.some((i) => i.shape.length === 1) && (m.graph.nodes[out.node] as Node).shape.join() === x.shape.join()
  );
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

/** One calibration batch of a UNet: noised images x [B, C, H, W], timesteps t [B], labels y [B] and the noise added. */
export interface UnetBatch {
  readonly x: Float32Array;
  readonly t: Float32Array;
  readonly y: Int32Array;
  readonly noise: Float32Array;
}

/** The input shapes of an ε-prediction parent: image x, timestep t and optional label y. */
function unetInputs(parent: LoweredModel) {
  const x = parent.inputs.find((i) => i.dtype === 'f32' && i.shape.length === 4)!;
  const t = parent.inputs.find((i) => i.shape.length === 1)!;
  const y = parent.inputs.find((i) => i.dtype === 'i32' && i.shape.length === 1);
  return { x, t, y };
}

/**
 * `n` batches of `mnist(split)` images (the only image source for now) noised at fixed seeded
 * timesteps with a cosine schedule, shaped for `parent`.
 */
export function unetCalibBatches(parent: LoweredModel, ref: DataRef | undefined, n: number): UnetBatch[] {
  if (ref !== undefined && ref.source !== 'mnist')
    throw new InheritError([`data-driven scores on a UNet calibrate on images: use mnist(split = …), not ${ref.source}(…)`]);
  const [bsz, ch, h, w] = unetInputs(parent).x.shape as [number, number, number, number];
  // MNIST has train and test splits; any other split name (`calib`) calibrates on train images.
  const set = loadMnist((ref?.args.split === 'test' ? 'test' : 'train') satisfies MnistSplit);
  if (set.height !== h || set.width !== w || set.channels !== ch)
    throw new InheritError([`calibration images are ${set.channels}×${set.height}×${set.width} but ${parent.instance.name} takes ${ch}×${h}×${w}`]);
  const per = ch * h * w;
  return Array.from({ length: n }, (_, k) => {
    const noise = gaussians(bsz * per, 1000 + k);
    const x = new Float32Array(bsz * per);
    const t = new Float32Array(bsz);
    const y = new Int32Array(bsz);
    for (let i = 0; i < bsz; i++) {
      const img = (k * bsz + i) % set.count;
      t[i] = 50 + (((k * bsz + i) * 337) % 900);
      const ab = Math.cos((Math.PI / 2) * (t[i]! / 1000)) ** 2; // ᾱ_t, cosine schedule
      y[i] = set.labels[img] as number;
      // Images are [H, W, C]; the model takes [C, H, W], scaled to [−1, 1].
      for (let c = 0; c < ch; c++)
        for (let p = 0; p < h * w; p++) {
          const j = i * per + c * h * w + p;
          x[j] = Math.sqrt(ab) * (2 * (set.images[img * per + p * ch + c] as number) - 1) + Math.sqrt(1 - ab) * (noise[j] as number);
        }
    }
    return { x, t, y, noise };
  });
}

/** Where a channel space's values are made: its owner layer's output, channels on axis 1. */
export function spaceSite(parent: LoweredModel, g: AxisGroup): { node: number; axis: number; offset: number; unit: number; features: number } {
  const node = parent.taps.get(g.module);
  const shape = node === undefined ? undefined : (parent.graph.nodes[node] as Node).shape;
  const unit = g.members[0]?.unit ?? 1;
  if (node === undefined || shape === undefined || shape[1] !== g.units * unit || (shape.length !== 4 && shape.length !== 2)) {
    throw new InheritError([`${g.module}: cannot find the output that makes its ${g.units * unit} channels, so activation and learned_mask cannot score them`]);
  }
  // [B, C] (an embedding) has its channels last: the mask broadcasts as [C].
  return { node, axis: shape.length === 4 ? 1 : -1, offset: 0, unit, features: g.units * unit };
}

/**
 * DataScoring for a UNet parent on `mnist(split, batches)` calibration images; `batches`
 * overrides the source's count, `calib` replaces the images (tests: models of other sizes).
 */
export function unetScoring(
  parent: LoweredModel,
  read: (path: string) => Promise<Dense>,
  opts: { batches?: number; log?: (l: string) => void; calib?: (ref: DataRef | undefined) => UnetBatch[] } = {},
): DataScoring {
  const { x, t, y } = unetInputs(parent);
  const epsName = parent.graph.outputs[0]!.name;
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, f: () => Promise<T>): Promise<T> => {
    if (!memo.has(key)) memo.set(key, f());
    return memo.get(key) as Promise<T>;
  };
  const refKey = (ref: DataRef | undefined) => JSON.stringify(ref === undefined ? null : { s: ref.source, a: ref.args });
  const batchesOf = (ref: DataRef | undefined) =>
    once(`batches ${refKey(ref)}`, async () => {
      const n = opts.batches ?? (typeof ref?.args.batches === 'number' && ref.args.batches > 0 ? ref.args.batches : 4);
      return opts.calib?.(ref) ?? unetCalibBatches(parent, ref, n);
    });
  const params = () =>
    once('params', async () => {
      const out = new Map<string, Tensor>();
      for (const p of parent.params) {
        const v = await read(p.path);
        out.set(p.path, { dtype: 'f32', shape: v.shape, data: v.data });
      }
      return out;
    });
  const run = async (g: Graph, b: UnetBatch, outputs: readonly string[], extra?: ReadonlyMap<string, Tensor>) => {
    const feeds = new Map(await params());
    feeds.set(x.name, { dtype: 'f32', shape: x.shape, data: b.x });
    feeds.set(t.name, { dtype: 'f32', shape: t.shape, data: b.t });
    if (y !== undefined) feeds.set(y.name, { dtype: 'i32', shape: y.shape, data: b.y });
    feeds.set(NOISE, { dtype: 'f32', shape: x.shape, data: b.noise });
    for (const [k, v] of extra ?? []) feeds.set(k, v);
    return runGraph(g, feeds, { dtype: 'f32', outputs });
  };
  /** The parent with the loss mean((ε̂ − noise)²) as output LOSS, `substitute` applied. */
  const lossGraph = (substitute: Parameters<typeof rebuild>[1] = () => undefined, probes: readonly number[] = []) =>
    rebuild(parent.graph, substitute, (b, map) => {
      const eps = b.nodes[b.outputs.find((o) => o.name === epsName)!.node] as Node;
      const d = b.sub(eps, b.input(NOISE, x.shape, 'f32'));
      b.output(LOSS, mean(b, b.mul(d, d)));
      for (const p of probes) b.output(`probe:${p}`, map[p] as Node);
    }).graph;

  const taylor = (ref: DataRef | undefined) =>
    once(`taylor ${refKey(ref)}`, async () => {
      const batches = await batchesOf(ref);
      const names = parent.graph.nodes.filter((q) => q.op === 'param' && q.attrs['trainable'] === true).map((q) => q.attrs['name'] as string);
      const g = grad(lossGraph(), LOSS, names);
      const ps = await params();
      const acc = new Map(names.map((k) => [k, new Float64Array(ps.get(k)!.data.length)]));
      for (const [k, b] of batches.entries()) {
        opts.log?.(`taylor: calibration batch ${k + 1}/${batches.length}`);
        const out = await run(g, b, names.map(gradName));
        for (const name of names) {
          const wv = ps.get(name)!.data;
          const dv = out.get(gradName(name))!.data;
          const a = acc.get(name)!;
          for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) + Math.abs((wv[i] as number) * (dv[i] as number));
        }
      }
      return acc;
    });

  /** Mean |x| per channel of every space's owner output, over every batch (one forward per batch). */
  const activations = (ref: DataRef | undefined) =>
    once(`activation ${refKey(ref)}`, async () => {
      const sites = channelSpaces(layoutOf(parent)).map((g) => ({ key: g.key, site: spaceSite(parent, g) }));
      const graph = lossGraph(
        () => undefined,
        sites.map((x) => x.site.node),
      );
      const sums = new Map(sites.map((x) => [x.key, { sum: new Float64Array(x.site.features), count: 0 }]));
      for (const b of await batchesOf(ref)) {
        const out = await run(
          graph,
          b,
          sites.map((x) => `probe:${x.site.node}`),
        );
        for (const { key, site } of sites) {
          const v = out.get(`probe:${site.node}`)!; // [B, C, H, W] or [B, C]
          const inner = v.shape.slice(2).reduce((a, c) => a * c, 1);
          const acc = sums.get(key)!;
          for (let i = 0; i < v.data.length; i++) {
            const c = Math.floor(i / inner) % site.features;
            acc.sum[c] = (acc.sum[c] as number) + Math.abs(v.data[i] as number);
          }
          acc.count += v.data.length / site.features;
        }
      }
      return new Map([...sums].map(([k, a]) => [k, a.sum.map((v) => v / a.count)]));
    });

  const masks: { steps: number; penalty: number; calib: DataRef | undefined }[] = [];
  let maskScores: Promise<Map<string, Float64Array>> | undefined;
  const trainMasks = async (targets: ReadonlyMap<string, number>) => {
    const sites: MaskSite[] = [];
    for (const g of channelSpaces(layoutOf(parent))) {
      const k = targets.get(g.key);
      if (k === undefined || k >= g.units) continue;
      const { node, axis, offset, unit, features } = spaceSite(parent, g);
      sites.push({ group: g, k, site: { axis, offset, unit }, nodes: [node], features, penalty: Math.max(...masks.map((m) => m.penalty)) });
    }
    const batches = await batchesOf(masks[0]!.calib);
    return trainMaskSites(
      sites,
      Math.max(...masks.map((m) => m.steps)),
      (sub) => lossGraph(sub),
      (g, step, outputs, feeds) => run(g, batches[step % batches.length]!, outputs, feeds),
      opts.log,
    );
  };

  /** Per-unit mean of per-channel values (a unit: one GroupNorm group's channels). */
  const perUnit = (g: AxisGroup, channels: Float64Array): Float64Array => {
    const unit = g.members[0]?.unit ?? 1;
    return Float64Array.from({ length: g.units }, (_, u) => channels.slice(u * unit, (u + 1) * unit).reduce((a, v) => a + v, 0) / unit);
  };

  return {
    layerScores: () =>
      Promise.reject(new InheritError(['block influence and drop-one score the layers of a language model; UNet blocks are chosen with `blocks = …`'])),
    unitRule: (kind, rule, targets): UnitRule => {
      if (kind !== 'channels' && rule.metric !== 'taylor')
        throw new InheritError([`${kind} = ${rule.metric}(…): activation and learned_mask score a UNet's channels only`]);
      if (rule.metric === 'activation') {
        return {
          kind: 'metric',
          name: 'activation',
          score: async (g): Promise<GroupScores> => ({ scores: perUnit(g, (await activations(rule.calib)).get(g.key)!) }),
        };
      }
      if (rule.metric === 'learned_mask') {
        masks.push({ steps: rule.steps, penalty: rule.penalty, calib: rule.calib });
        return {
          kind: 'metric',
          name: 'learned_mask',
          score: async (g): Promise<GroupScores> => {
            maskScores ??= trainMasks(targets);
            const scores = (await maskScores).get(g.key);
            if (scores === undefined) throw new Error(`bug: no learned mask for ${g.key}`);
            return { scores };
          },
        };
      }
      if (rule.metric !== 'taylor')
        throw new InheritError([`${kind} = ${rule.metric}(…) is not available for UNets: use taylor(calib), activation(calib), learned_mask(calib), l1 or l2`]);
      return {
        kind: 'metric',
        name: 'taylor',
        score: async (group) => {
          const imp = await taylor(rule.calib);
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
