// Learned masks (research/seeds.md §1.3): every unit u of a masked group gets a logit s_u; the
// forward pass multiplies the unit's values by the hard top-k of σ(s) (1 for the k best units, 0
// for the rest, k the child's size), and the backward pass treats the hard mask as σ(s) itself
// (the straight-through estimator), so ∂L/∂s_u = ∂L/∂m_u · σ'(s_u). A penalty pulls the mean
// σ(s) toward k/n. The parent stays frozen: only the logits are trained (Adam), on the
// calibration batches in turn; the final scores are σ(s), and the child keeps the top ones.
// All masked groups are trained together, in one graph, so each sees the others pruned.

import { grad, gradName } from '../../compiler/autodiff/grad.ts';
import type { Node } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../cpu/tensor.ts';
import { allModuleGroups, type AxisGroup } from './axes.ts';
import type { CalibBatch } from './calib.ts';
import type { CalibRunner } from './data-scoring.ts';
import { InheritError } from './layout.ts';
import { layoutOf } from './layout-from-model.ts';
import { groupSite, LOSS } from './probe.ts';
import type { DataRef } from './spec-fields.ts';
import { topK } from './tensor-ops.ts';

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

interface Masked {
  group: AxisGroup;
  k: number;
  param: string;
  site: { node: number; axis: number; offset: number; unit: number };
  features: number;
  s: Float64Array;
  m1: Float64Array;
  m2: Float64Array;
  penalty: number;
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
export async function trainMasks(runner: CalibRunner, requests: readonly MaskRequest[], targets: ReadonlyMap<string, number>, batches: readonly CalibBatch[]): Promise<Map<string, Float64Array>> {
  if (requests.some((r) => r.kind === 'dim')) throw new InheritError(['learned_mask selects heads, FFN neurons or channels; use l1, l2, taylor or activation for the residual width `dim`']);
  const graph0 = runner.inp.parent.graph;
  const byKind = new Map(requests.map((r) => [r.kind, r]));
  const masked: Masked[] = [];
  for (const g of allModuleGroups(layoutOf(runner.inp.parent)).values()) {
    const req = byKind.get(g.kind as MaskRequest['kind']);
    const k = targets.get(g.key);
    if (req === undefined || k === undefined || k >= g.units) continue;
    const site = groupSite(graph0, g);
    if (site === undefined) throw new InheritError([`${g.module}: no Linear or conv reads its ${g.kind}, so there is nothing to mask`]);
    const features = (graph0.nodes[site.node] as Node).shape.at(site.axis) as number;
    masked.push({ group: g, k, param: `mask:${g.key}`, site, features, s: new Float64Array(g.units), m1: new Float64Array(g.units), m2: new Float64Array(g.units), penalty: req.penalty });
  }
  const out = new Map<string, Float64Array>();
  if (masked.length === 0) return out;
  const bySite = new Map(masked.map((m) => [m.site.node, m]));
  const maskShape = (m: Masked): number[] => (m.site.axis === -1 ? [m.features] : [m.features, 1, 1]);
  const g = grad(runner.lossGraph((old, made, b) => {
    const m = bySite.get(old.id);
    return m === undefined ? undefined : b.mul(made, b.param(m.param, maskShape(m), 'f32', { trainable: true }));
  }), LOSS, masked.map((m) => m.param));
  const steps = Math.max(...requests.map((r) => r.steps));
  runner.inp.log?.(`learned_mask: ${steps} steps on ${masked.length} groups`);
  for (let step = 0; step < steps; step++) {
    const feeds = new Map<string, Tensor>(masked.map((m) => [m.param, { dtype: 'f32', shape: maskShape(m), data: hardMask(m.s, m.k, m.site, m.features) }]));
    const res = await runner.run(g, batches[step % batches.length]!, masked.map((m) => gradName(m.param)), feeds);
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
