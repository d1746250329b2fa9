// Learned masks (research/seeds.md §1.3): every unit u of a masked group gets a logit s_u; the
// forward pass multiplies the unit's values by the hard top-k of σ(s) (1 for the k best units, 0
// for the rest, k the child's size), and the backward pass treats the hard mask as σ(s) itself
// (the straight-through estimator), so ∂L/∂s_u = ∂L/∂m_u · σ'(s_u). A penalty pulls the mean
// σ(s) toward k/n. The parent stays frozen: only the logits are trained (Adam), on the
// calibration batches in turn; the final scores are σ(s), and the child keeps the top ones.
// All masked groups are trained together, in one graph, so each sees the others pruned.
// A group's values are masked where they flow: heads, FFN neurons and channels at the input of
// the Linear or conv that reads them; the residual width `dim` at every write into the residual
// stream (embedding output, each attention and FFN branch before its residual add), which masks
// the stream wherever it appears — every add, every norm input, the final norm — while scaling
// each write once, as scaling the embedding columns and the o_proj/down_proj rows would.

import { grad, gradName } from '../../../compiler/autodiff/grad.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { allModuleGroups, residualGroup, type AxisGroup } from '../layout/axes.ts';
import type { CalibBatch } from './calib.ts';
import type { CalibRunner } from './data-scoring.ts';
import { layoutOf } from '../layout/layout-from-model.ts';
import { InheritError, layerStack } from '../layout/layout.ts';
import { groupSite, LOSS, type rebuild, residualWrites } from './probe.ts';
import type { DataRef } from '../spec/spec-fields.ts';
import { topK } from '../tensor-ops.ts';

export interface MaskRequest {
  readonly kind: 'dim' | 'heads' | 'ffn' | 'channels';
  readonly steps: number;
  readonly penalty: number;
  readonly calib: DataRef | undefined;
}

/** Adam on the logits; lr chosen so a logit can cross 0 in a few steps. */
const LR = 0.1;
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

interface Masked extends MaskSite {
  param: string;
  s: Float64Array;
  m1: Float64Array;
  m2: Float64Array;
}

/** The hard top-k mask of σ(s) spread over a site's features (1 outside the group's span). */
export function hardMask(s: Float64Array, k: number, site: { offset: number; unit: number }, features: number): Float32Array {
  const keep = new Set(topK(Array.from(s, sigmoid), k));
  const m = new Float32Array(features).fill(1);
  for (let u = 0; u < s.length; u++) for (let j = 0; j < site.unit; j++) m[site.offset + u * site.unit + j] = keep.has(u) ? 1 : 0;
  return m;
}

/**
 * Trains masks for every parent group of the requested kinds that the child shrinks
 * (`targets`: parent group key → child units) and returns σ(s) per group key.
 */
export async function trainMasks(
  runner: CalibRunner,
  requests: readonly MaskRequest[],
  targets: ReadonlyMap<string, number>,
  batches: readonly CalibBatch[],
): Promise<Map<string, Float64Array>> {
  const graph0 = runner.inp.parent.graph;
  const layout = layoutOf(runner.inp.parent);
  const byKind = new Map(requests.map((r) => [r.kind, r]));
  const masked: MaskSite[] = [];
  const dimReq = byKind.get('dim');
  const dimK = targets.get('dim');
  if (dimReq !== undefined && dimK !== undefined) {
    const g = residualGroup(layout);
    const stack = layerStack(layout);
    if (stack === undefined) throw new InheritError(['learned_mask for `dim` masks the residual stream of a layer stack, and this model has none']);
    if (dimK < g.units) {
      masked.push({
        group: g,
        k: dimK,
        site: { axis: -1, offset: 0, unit: 1 },
        nodes: residualWrites(runner.inp.parent, stack),
        features: g.units,
        penalty: dimReq.penalty,
      });
    }
  }
  for (const g of allModuleGroups(layout).values()) {
    const req = byKind.get(g.kind as MaskRequest['kind']);
    const k = targets.get(g.key);
    if (req === undefined || k === undefined || k >= g.units) continue;
    const site = groupSite(graph0, g);
    if (site === undefined) throw new InheritError([`${g.module}: no Linear or conv reads its ${g.kind}, so there is nothing to mask`]);
    const features = (graph0.nodes[site.node] as Node).shape.at(site.axis) as number;
    masked.push({ group: g, k, site: { axis: site.axis, offset: site.offset, unit: site.unit }, nodes: [site.node], features, penalty: req.penalty });
  }
  const steps = Math.max(...requests.map((r) => r.steps));
  return trainMaskSites(
    masked,
    steps,
    (sub) => runner.lossGraph(sub),
    (g, step, outputs, feeds) => runner.run(g, batches[step % batches.length]!, outputs, feeds),
    runner.inp.log,
  );
}

/** Where and how one group is masked: the nodes multiplied by its mask and the features' layout there. */
export interface MaskSite {
  readonly group: AxisGroup;
  /** Units the child keeps. */
  readonly k: number;
  /** The masked values' feature axis: −1 (last, mask [features]) or 1 of NCHW (mask [features, 1, 1]). */
  readonly site: { readonly axis: number; readonly offset: number; readonly unit: number };
  readonly nodes: readonly number[];
  readonly features: number;
  readonly penalty: number;
}

/**
 * Trains the masks of `sites` together for `steps` steps and returns σ(s) per group key.
 * `lossGraph(substitute)` is the parent's graph with its scalar LOSS output and the substitution
 * applied; `runStep(graph, step, outputs, feeds)` runs it on the step's calibration batch.
 */
export async function trainMaskSites(
  sites: readonly MaskSite[],
  steps: number,
  lossGraph: (substitute: Parameters<typeof rebuild>[1]) => Graph,
  runStep: (g: Graph, step: number, outputs: readonly string[], feeds: ReadonlyMap<string, Tensor>) => Promise<Map<string, Tensor>>,
  log?: (line: string) => void,
): Promise<Map<string, Float64Array>> {
  const out = new Map<string, Float64Array>();
  if (sites.length === 0) return out;
  const masked: Masked[] = sites.map((x) => {
    const z = () => new Float64Array(x.group.units);
    return { ...x, param: `mask:${x.group.key}`, s: z(), m1: z(), m2: z() };
  });
  const bySite = new Map<number, Masked[]>();
  for (const m of masked) for (const n of m.nodes) bySite.set(n, [...(bySite.get(n) ?? []), m]);
  const maskShape = (m: Masked): number[] => (m.site.axis === -1 ? [m.features] : [m.features, 1, 1]);
  const params = new Map<string, Node>();
  const g = grad(
    lossGraph((old, made, b) => {
      const ms = bySite.get(old.id);
      // One param node per mask, shared by all its sites, so ∂L/∂m sums over them.
      return ms?.reduce(
        (x, m) => b.mul(x, params.get(m.param) ?? params.set(m.param, b.param(m.param, maskShape(m), 'f32', { trainable: true })).get(m.param)!),
        made,
      );
    }),
    LOSS,
    masked.map((m) => m.param),
  );
  log?.(`learned_mask: ${steps} steps on ${masked.length} groups`);
  for (let step = 0; step < steps; step++) {
    const feeds = new Map<string, Tensor>(masked.map((m) => [m.param, { dtype: 'f32', shape: maskShape(m), data: hardMask(m.s, m.k, m.site, m.features) }]));
    const res = await runStep(
      g,
      step,
      masked.map((m) => gradName(m.param)),
      feeds,
    );
    for (const m of masked) {
      const gm = res.get(gradName(m.param))!.data;
      const n = m.group.units;
      let mean = 0;
      for (let u = 0; u < n; u++) mean += sigmoid(m.s[u] as number) / n;
      const pull = (2 * m.penalty * (mean - m.k / n)) / n; // ∂/∂σ_u of penalty·(mean σ − k/n)²
      for (let u = 0; u < n; u++) {
        let gu = 0;
        for (let j = 0; j < m.site.unit; j++) gu += gm[m.site.offset + u * m.site.unit + j] as number;
        const sg = sigmoid(m.s[u] as number);
        const d = (gu + pull) * sg * (1 - sg);
        m.m1[u] = BETA1 * (m.m1[u] as number) + (1 - BETA1) * d;
        m.m2[u] = BETA2 * (m.m2[u] as number) + (1 - BETA2) * d * d;
        const mh = (m.m1[u] as number) / (1 - BETA1 ** (step + 1));
        const vh = (m.m2[u] as number) / (1 - BETA2 ** (step + 1));
        m.s[u] = (m.s[u] as number) - (LR * mh) / (Math.sqrt(vh) + EPS);
      }
    }
  }
  for (const m of masked) out.set(m.group.key, m.s.map(sigmoid));
  return out;
}
