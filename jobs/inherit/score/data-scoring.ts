// Data-driven importance, computed by running the parent on calibration batches with the CPU
// reference interpreter (research/seeds.md §1.3):
//   taylor          — Σ_batches |w ⊙ ∂L/∂w| per element, summed per unit over the unit's group;
//   activation      — mean |x| per unit where the unit's values flow: the input of the Linear (or
//                     conv) that reads the group on its input axis (FFN hidden, merged heads, a
//                     ResBlock's inner channels), and for the residual width every layer boundary;
//   block_influence — 1 − mean cosine similarity of each layer's input and output hidden states;
//   drop_one        — mean loss increase when a layer alone is skipped (its output := its input);
//   learned_mask    — see learned-mask.ts.
// L is the mean next-token cross-entropy of the parent on the batch. Everything is computed once
// per calibration source and cached; scores are deterministic (fixed batches, no sampling).
//
// Note: builds IR (loss, gradients, probes) with the compiler, like inherit-model.ts.

import { grad, gradName } from '../../../compiler/autodiff/grad.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Graph, Node } from '../../../compiler/ir/graph.ts';
import type { LoweredModel } from '../../../compiler/lower/lower-model.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import type { AxisGroup } from '../layout/axes.ts';
import type { CalibBatch } from './calib.ts';
import type { GroupScores, Scorer, UnitRule } from '../select/choose.ts';
import type { DataScoring } from '../types.ts';
import { layerStack } from '../layout/layout.ts';
import { layoutOf } from '../layout/layout-from-model.ts';
import { trainMasks, type MaskRequest } from './learned-mask.ts';
import { addLoss, groupSite, layerBoundaries, lmShape, LOSS, rebuild, TARGETS, type LmShape } from './probe.ts';
import type { DataRef, UnitRuleSpec } from '../spec/spec-fields.ts';
import { accumulateUnitNorms, type Dense } from '../tensor-ops.ts';

export interface ScoringInputs {
  /** The parent, lowered with the batch size the calibration batches have. */
  readonly parent: LoweredModel;
  /** A parent parameter by Scion path. */
  readonly read: (path: string) => Promise<Dense>;
  /** Calibration batches of a data source (the spec's `calib`). */
  readonly batches: (ref: DataRef | undefined) => Promise<CalibBatch[]>;
  readonly log?: (line: string) => void;
}

/** Runs a graph of the parent on one batch, with the parent's weights and the batch fed. */
export class CalibRunner {
  readonly lm: LmShape;
  private weights: Promise<Map<string, Tensor>> | undefined;

  constructor(readonly inp: ScoringInputs) {
    this.lm = lmShape(inp.parent);
  }

  /** Every parent parameter, read once (Scion layout). */
  params(): Promise<Map<string, Tensor>> {
    this.weights ??= (async () => {
      const out = new Map<string, Tensor>();
      for (const p of this.inp.parent.params) {
        const d = await this.inp.read(p.path);
        out.set(p.path, { dtype: 'f32', shape: d.shape, data: d.data });
      }
      return out;
    })();
    return this.weights;
  }

  async run(graph: Graph, batch: CalibBatch, outputs: readonly string[], extra?: ReadonlyMap<string, Tensor>): Promise<Map<string, Tensor>> {
    const feeds = new Map(await this.params());
    feeds.set(this.lm.tokens, { dtype: 'i32', shape: [this.lm.rows, this.lm.ctx], data: batch.tokens });
    feeds.set(TARGETS, { dtype: 'i32', shape: [this.lm.rows, this.lm.ctx], data: batch.targets });
    for (const [k, v] of extra ?? []) feeds.set(k, v);
    return runGraph(graph, feeds, { dtype: 'f32', outputs });
  }

  /** The parent's graph with the loss output, and optionally `substitute` applied. */
  lossGraph(substitute: Parameters<typeof rebuild>[1] = () => undefined): Graph {
    return rebuild(this.inp.parent.graph, substitute, (b) => addLoss(b, this.lm)).graph;
  }
}

/** Σ_batches |w ⊙ ∂L/∂w| for every trainable parameter (f64 accumulators). */
export async function taylorImportance(runner: CalibRunner, batches: readonly CalibBatch[]): Promise<Map<string, Float64Array>> {
  const names = runner.inp.parent.graph.nodes.filter((n) => n.op === 'param' && n.attrs['trainable'] === true).map((n) => n.attrs['name'] as string);
  const g = grad(runner.lossGraph(), LOSS, names);
  const params = await runner.params();
  const acc = new Map(names.map((n) => [n, new Float64Array(params.get(n)!.data.length)]));
  for (const batch of batches) {
    const out = await runner.run(g, batch, names.map(gradName));
    for (const n of names) {
      const w = params.get(n)!.data;
      const d = out.get(gradName(n))!.data;
      const a = acc.get(n)!;
      for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) + Math.abs((w[i] as number) * (d[i] as number));
    }
  }
  return acc;
}

/** Mean |x| per feature along `axis` of each probed node, over every batch. */
export async function featureMeans(
  runner: CalibRunner,
  batches: readonly CalibBatch[],
  probes: readonly { node: number; axis: number }[],
): Promise<Map<number, Float64Array>> {
  const { builder: b, nodes } = GraphBuilder.from(runner.lossGraph());
  const uniq = [...new Map(probes.map((p) => [p.node, p])).values()];
  for (const p of uniq) b.output(`probe:${p.node}`, nodes[p.node] as Node);
  const graph = b.build();
  const sums = new Map<number, { sum: Float64Array; count: number }>();
  for (const batch of batches) {
    const out = await runner.run(
      graph,
      batch,
      uniq.map((p) => `probe:${p.node}`),
    );
    for (const p of uniq) {
      const t = out.get(`probe:${p.node}`)!;
      const axis = p.axis < 0 ? t.shape.length + p.axis : p.axis;
      const f = t.shape[axis] as number;
      const inner = t.shape.slice(axis + 1).reduce((x, y) => x * y, 1);
      const s = sums.get(p.node) ?? { sum: new Float64Array(f), count: 0 };
      for (let i = 0; i < t.data.length; i++) {
        const c = Math.floor(i / inner) % f;
        s.sum[c] = (s.sum[c] as number) + Math.abs(t.data[i] as number);
      }
      s.count += t.data.length / f;
      sums.set(p.node, s);
    }
  }
  return new Map([...sums].map(([k, s]) => [k, s.sum.map((v) => v / s.count)]));
}

/** 1 − mean over tokens and batches of cos(h_in, h_out), per layer of the stack. */
export async function blockInfluence(runner: CalibRunner, batches: readonly CalibBatch[]): Promise<Float64Array> {
  const stack = layerStack(layoutOf(runner.inp.parent));
  if (stack === undefined) throw new Error('bug: block influence on a model without a layer stack');
  const bounds = layerBoundaries(runner.inp.parent, stack);
  const { builder: b, nodes } = GraphBuilder.from(runner.lossGraph());
  bounds.forEach((id, i) => b.output(`boundary:${i}`, nodes[id] as Node));
  const graph = b.build();
  const cos = new Float64Array(stack.depth);
  let rows = 0;
  for (const batch of batches) {
    const out = await runner.run(
      graph,
      batch,
      bounds.map((_, i) => `boundary:${i}`),
    );
    const hs = bounds.map((_, i) => out.get(`boundary:${i}`)!);
    const c = hs[0]!.shape[hs[0]!.shape.length - 1] as number;
    const n = hs[0]!.data.length / c;
    for (let l = 0; l < stack.depth; l++) {
      const x = hs[l]!.data;
      const y = hs[l + 1]!.data;
      for (let r = 0; r < n; r++) {
        let xy = 0,
          xx = 0,
          yy = 0;
        for (let j = r * c; j < (r + 1) * c; j++) {
          xy += (x[j] as number) * (y[j] as number);
          xx += (x[j] as number) ** 2;
          yy += (y[j] as number) ** 2;
        }
        cos[l] = (cos[l] as number) + xy / (Math.sqrt(xx * yy) || 1);
      }
    }
    rows += n;
  }
  return cos.map((v) => 1 - v / rows);
}

/** Mean loss with layer i skipped minus the parent's mean loss, per layer of the stack. */
export async function dropOne(runner: CalibRunner, batches: readonly CalibBatch[]): Promise<Float64Array> {
  const stack = layerStack(layoutOf(runner.inp.parent));
  if (stack === undefined) throw new Error('bug: drop-one on a model without a layer stack');
  const bounds = layerBoundaries(runner.inp.parent, stack);
  const meanLoss = async (g: Graph) => {
    let s = 0;
    for (const batch of batches) s += (await runner.run(g, batch, [LOSS])).get(LOSS)!.data[0] as number;
    return s / batches.length;
  };
  const base = await meanLoss(runner.lossGraph());
  const out = new Float64Array(stack.depth);
  for (let i = 0; i < stack.depth; i++) {
    // Layer i's output is replaced by its input: every later reader sees the stream as if skipped.
    const skipped = runner.lossGraph((old, _made, _b, map) => (old.id === bounds[i + 1] ? map[bounds[i]!] : undefined));
    out[i] = (await meanLoss(skipped)) - base;
    runner.inp.log?.(`drop-one: layer ${i} adds ${out[i]!.toFixed(4)} to the loss`);
  }
  return out;
}

/** Scores from per-element importance tensors: each unit's sum over its group's members. */
function summedScorer(importance: (path: string) => Promise<Dense>): Scorer {
  return async (g) => {
    const sum = async (members: AxisGroup['members'], units: number) => {
      const into = new Float64Array(units);
      for (const x of members) accumulateUnitNorms(await importance(x.path), x.axis, x.offset, x.unit, units, 1, into);
      return into;
    };
    const scores = await sum(g.members, g.units);
    return g.kv === undefined ? { scores } : { scores, kvScores: await sum(g.kv.members, g.kv.units) };
  };
}

/** Per-unit means of a site's feature means (a head: the mean over its head_dim features). */
function unitMeans(features: Float64Array, site: { offset: number; unit: number }, units: number): Float64Array {
  return Float64Array.from({ length: units }, (_, u) => {
    let s = 0;
    for (let j = 0; j < site.unit; j++) s += features[site.offset + u * site.unit + j] as number;
    return s / site.unit;
  });
}

/**
 * The DataScoring hook of inherit-model.ts, on the reference interpreter.
 *
 * @example
 * const scoring = createDataScoring({ parent, read, batches: (ref) => calibBatches(ref, tok, lmShape(parent), { cwd }) });
 * await scoring.layerScores('block_influence', calib); // Float64Array, one per layer
 */
export function createDataScoring(inp: ScoringInputs): DataScoring {
  const runner = new CalibRunner(inp);
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, f: () => Promise<T>): Promise<T> => {
    if (!memo.has(key)) memo.set(key, f());
    return memo.get(key) as Promise<T>;
  };
  const refKey = (ref: DataRef | undefined) => JSON.stringify(ref === undefined ? null : { s: ref.source, a: ref.args });
  const batchesOf = (ref: DataRef | undefined) => once(`batches ${refKey(ref)}`, () => inp.batches(ref));
  const masks: MaskRequest[] = [];
  let maskScores: Promise<Map<string, Float64Array>> | undefined;

  return {
    async layerScores(kind, calib) {
      const batches = await batchesOf(calib);
      inp.log?.(`${kind}: running the parent on ${batches.length} calibration batches`);
      return once(`${kind} ${refKey(calib)}`, () => (kind === 'block_influence' ? blockInfluence(runner, batches) : dropOne(runner, batches)));
    },
    unitRule(kind, rule, targets): UnitRule {
      const name = rule.metric;
      if (name === 'taylor') {
        const importance = () =>
          once(`taylor ${refKey(rule.calib)}`, async () => {
            const batches = await batchesOf(rule.calib);
            inp.log?.(`taylor: gradients of the parent on ${batches.length} calibration batches`);
            return taylorImportance(runner, batches);
          });
        const params = new Map(inp.parent.params.map((p) => [p.path, p.shape]));
        return {
          kind: 'metric',
          name,
          score: summedScorer(async (path) => ({ shape: params.get(path)!, data: Float32Array.from((await importance()).get(path)!) })),
        };
      }
      if (name === 'activation') {
        return {
          kind: 'metric',
          name,
          score: async (g): Promise<GroupScores> => {
            const stack = layerStack(layoutOf(inp.parent));
            const sites =
              kind === 'dim'
                ? (stack === undefined ? [] : layerBoundaries(inp.parent, stack)).map((node) => ({ node, axis: -1, offset: 0, unit: 1 }))
                : [groupSite(inp.parent.graph, g)].filter((s) => s !== undefined);
            if (sites.length === 0) throw new Error(`bug: no activation site for ${g.key}`);
            const batches = await batchesOf(rule.calib);
            const means = await once(`activation ${refKey(rule.calib)} ${g.key}`, () => featureMeans(runner, batches, sites));
            const scores = new Float64Array(g.units);
            for (const s of sites) unitMeans(means.get(s.node)!, s, g.units).forEach((v, u) => (scores[u] = (scores[u] as number) + v / sites.length));
            return g.kv === undefined ? { scores } : { scores, kvScores: new Float64Array(g.kv.units) };
          },
        };
      }
      if (name === 'learned_mask') {
        masks.push({ kind, steps: rule.steps, penalty: rule.penalty, calib: rule.calib });
        return {
          kind: 'metric',
          name,
          score: async (g): Promise<GroupScores> => {
            maskScores ??= (async () => trainMasks(runner, masks, targets, await batchesOf(masks[0]!.calib)))();
            const scores = (await maskScores).get(g.key);
            if (scores === undefined) throw new Error(`bug: no learned mask for ${g.key}`);
            return g.kv === undefined ? { scores } : { scores, kvScores: new Float64Array(g.kv.units) };
          },
        };
      }
      throw new Error(`bug: ${name} is not a data-driven metric`);
    },
  };
}

export type { UnitRuleSpec };
