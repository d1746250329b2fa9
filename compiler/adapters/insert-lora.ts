// Adapter insertion: a lowered model plus an adapter spec → one graph holding the adapted model
// (every targeted Linear gets x·Wᵀ + dropout(x)·Aᵀ·Bᵀ·alpha/r beside it) and, sharing every node
// up to the first adapted Linear, the base model with the adapter off (for `base = M frozen`).
//
// It is a rewrite of the lowered graph rather than a hook in the layer rules, so every layer that
// builds its projections with `linear` (Attention, SwiGLU, MLP, user layers) is adaptable without
// knowing adapters exist. A targeted Linear is found structurally: `matmul(x, permute(W, [1, 0]))`
// with W a 2-D parameter `<module>.weight` whose module matches a target pattern — the exact
// shape of compose.ts `linear`.
//
// Parameters keep PEFT's names (`<module>.lora_A.weight` [r, in], `<module>.lora_B.weight`
// [out, r]); every base parameter is frozen, only A and B are trainable. With PiSSA the base
// weight holds the residual W_res = W − (alpha/r)·B₀·A₀ (jobs/inherit writes it), so the base
// path adds the frozen initial factors back (`<module>.lora_A.init`, `<module>.lora_B.init`):
// adapter off means the pretrained W, not the residual.

import { matchesPath } from '../../grammar/check/patterns.ts';
import { GraphBuilder } from '../ir/builder.ts';
import { linear } from '../ir/compose.ts';
import type { Graph, Node } from '../ir/graph.ts';
import type { ParamInfo } from '../layers/context.ts';
import { INITIALIZERS, type Init } from '../layers/init.ts';
import { LowerError } from '../../grammar/eval/errors.ts';
import { nodeFlops } from '../lower/flops.ts';
import type { LoweredInput, LoweredModel } from '../lower/lower-model.ts';
import type { AdapterSpec } from './adapter-spec.ts';

export interface AdaptOptions {
  /** Training graph: apply dropout to adapter inputs (needs the key input). Default false. */
  train?: boolean;
  /** Name of the i32[2] (seed, counter) key input dropout draws from. Default `dropout_key`. */
  dropoutKey?: string;
  /** Also build the base model (adapter off): outputs `base.<name>` and `baseTaps`. Default true. */
  base?: boolean;
}

/** One adapted Linear. Node ids refer to the adapted model's graph. */
export interface AdapterSite {
  /** `layers.0.self_attn.q_proj` */
  module: string;
  weight: string;
  loraA: string;
  loraB: string;
  /** Frozen copies of the initial A and B (PiSSA only), which the base path adds back to W_res. */
  initA?: string;
  initB?: string;
  inFeatures: number;
  outFeatures: number;
  /** The Linear's input x, its base product x·Wᵀ and the adapted sum. */
  input: number;
  product: number;
  output: number;
}

export interface AdaptedModel extends LoweredModel {
  adapter: AdapterSpec;
  sites: AdapterSite[];
  /** Base-model taps (adapter off) in the same graph; empty when built with `base: false`. */
  baseTaps: ReadonlyMap<string, number>;
  /** The trainable parameters the adapter adds; `params` lists them after the frozen base ones. */
  adapterParams: ParamInfo[];
  /** alpha / rank. */
  scale: number;
}

export const BASE_PREFIX = 'base.';

interface Candidate {
  matmul: Node;
  weight: Node;
  module: string;
}

/** Every `matmul(x, permute(W,[1,0]))` whose W is a targeted `<module>.weight` parameter. */
function findSites(m: LoweredModel, spec: AdapterSpec): Candidate[] {
  const nodes = m.graph.nodes;
  const found: Candidate[] = [];
  const hits = new Set<string>();
  for (const n of nodes) {
    if (n.op !== 'matmul') continue;
    const t = nodes[n.inputs[1] as number] as Node;
    if (t.op !== 'permute' || (t.attrs['perm'] as readonly number[]).join() !== '1,0') continue;
    const w = nodes[t.inputs[0] as number] as Node;
    const name = w.attrs['name'];
    if (w.op !== 'param' || typeof name !== 'string' || !name.endsWith('.weight') || w.shape.length !== 2) continue;
    const module = name.slice(0, -'.weight'.length);
    const pats = spec.targets.filter((p) => matchesPath(p, module));
    if (pats.length === 0) continue;
    for (const p of pats) hits.add(p);
    found.push({ matmul: n, weight: w, module });
  }
  for (const p of spec.targets) {
    if (hits.has(p)) continue;
    const params = m.params.filter((q) => matchesPath(p, q.path)).map((q) => q.path);
    const what = params.length === 0 ? 'no parameter' : `${params.length} parameter(s) but no Linear weight (e.g. ${params[0] ?? ''})`;
    throw new LowerError('E0603', `adapter ${spec.name}: target "${p}" matches ${what} of ${m.instance.name}`, spec.span, [
      { message: 'targets name Linear modules by their `as` path, e.g. "layers.*.self_attn.q_proj"' },
    ]);
  }
  return found;
}

function adapterInits(spec: AdapterSpec, inF: number, weight: string): { a: Init; b: Init } {
  const rule = INITIALIZERS[spec.init.kind].lora;
  if (rule === 'none') throw new Error(`bug: ${spec.init.kind} is not a LoRA initializer`);
  return rule({ inF, rank: spec.rank, weight }, spec.init.kind === 'pissa' ? { niter: spec.init.niter } : {});
}

/**
 * Rewrites `m` so every Linear named by `spec.targets` carries a LoRA adapter.
 *
 * @example
 * const am = applyAdapter(lowerModel(program, 'Llama'), adapterSpec(findAdapter(program, 'Genre')));
 * am.graph.outputs.map((o) => o.name) // ['logits', 'base.logits']
 */
export function applyAdapter(m: LoweredModel, spec: AdapterSpec, opts: AdaptOptions = {}): AdaptedModel {
  const candidates = findSites(m, spec);
  const byMatmul = new Map(candidates.map((c) => [c.matmul.id, c]));
  const withBase = opts.base ?? true;
  const pissa = spec.init.kind === 'pissa';
  const scale = spec.alpha / spec.rank;
  const b = new GraphBuilder();
  const infoByPath = new Map(m.params.map((p) => [p.path, p]));
  const adapterParams: ParamInfo[] = [];
  const sites: AdapterSite[] = [];
  // Dropout streams start past any the model already uses, so masks never repeat another draw.
  let stream = 1 + m.graph.nodes.reduce((s, n) => (typeof n.attrs['stream'] === 'number' ? Math.max(s, n.attrs['stream']) : s), -1);
  const dropping = opts.train === true && spec.dropout > 0;
  const key = dropping ? b.withSpan(spec.span, () => b.input(opts.dropoutKey ?? 'dropout_key', [2], 'i32')) : undefined;

  const addParam = (path: string, shape: number[], init: Init, trainable: boolean, layer: string): Node => {
    // A weight used by several matmuls (tied) gets one adapter, applied at every use.
    if (adapterParams.some((p) => p.path === path)) return b.param(path, shape, 'f32', { trainable });
    if (infoByPath.has(path)) throw new LowerError('E0608', `adapter ${spec.name} would create '${path}', which the model already has`, spec.span);
    const info: ParamInfo = { path, shape, dtype: 'f32', init, trainable, layer, span: spec.span };
    infoByPath.set(path, info);
    adapterParams.push(info);
    return b.param(path, shape, 'f32', { trainable });
  };

  const base: Node[] = [];
  const ad: Node[] = [];
  for (const n of m.graph.nodes) {
    b.withSpan(n.span, () => {
      if (n.op === 'param') {
        ad[n.id] = base[n.id] = b.param(n.attrs['name'] as string, n.shape, n.dtype, { trainable: false });
        return;
      }
      const ai = n.inputs.map((i) => ad[i] as Node);
      ad[n.id] = b.apply(n.op, ai, n.attrs);
      if (withBase)
        base[n.id] = b.apply(
          n.op,
          n.inputs.map((i) => base[i] as Node),
          n.attrs,
        );
      const c = byMatmul.get(n.id);
      if (c === undefined) return;
      b.withSpan(spec.span, () => {
        const [outF, inF] = c.weight.shape as [number, number];
        const x = ai[0] as Node; // [..., in]
        const names = { a: `${c.module}.lora_A.weight`, b: `${c.module}.lora_B.weight`, a0: `${c.module}.lora_A.init`, b0: `${c.module}.lora_B.init` };
        const inits = adapterInits(spec, inF, `${c.module}.weight`);
        const pa = addParam(names.a, [spec.rank, inF], inits.a, true, c.module); // [r, in]
        const pb = addParam(names.b, [outF, spec.rank], inits.b, true, c.module); // [out, r]
        let xin = x;
        if (key !== undefined) {
          const keep = b.ge(b.randomUniform(key, x.shape, stream++), spec.dropout);
          xin = b.where(keep, b.mul(x, 1 / (1 - spec.dropout)), 0); // inverted dropout, as torch
        }
        const delta = b.mul(linear(b, linear(b, xin, pa), pb), scale); // [..., out]
        const out = b.add(ad[n.id] as Node, delta);
        const site: AdapterSite = {
          module: c.module,
          weight: `${c.module}.weight`,
          loraA: names.a,
          loraB: names.b,
          inFeatures: inF,
          outFeatures: outF,
          input: x.id,
          product: (ad[n.id] as Node).id,
          output: out.id,
        };
        ad[n.id] = out;
        if (pissa) {
          const frozen: Init = { dist: 'zeros', rule: `copy of the initial ${c.module}.lora_{A,B}.weight` };
          const a0 = addParam(names.a0, [spec.rank, inF], frozen, false, c.module);
          const b0 = addParam(names.b0, [outF, spec.rank], frozen, false, c.module);
          site.initA = names.a0;
          site.initB = names.b0;
          if (withBase) {
            const bx = base[n.inputs[0] as number] as Node;
            base[n.id] = b.add(base[n.id] as Node, b.mul(linear(b, linear(b, bx, a0), b0), scale));
          }
        }
        sites.push(site);
      });
    });
  }

  for (const o of m.graph.outputs) b.output(o.name, ad[o.node] as Node);
  if (withBase) for (const o of m.graph.outputs) b.output(BASE_PREFIX + o.name, base[o.node] as Node);
  const graph = b.build();
  const remap = (taps: ReadonlyMap<string, number>, map: Node[]): Map<string, number> => new Map([...taps].map(([k, id]) => [k, (map[id] as Node).id]));
  const inputs: LoweredInput[] = m.inputs.map((i) => ({ ...i, node: (ad[i.node] as Node).id }));
  if (key !== undefined) inputs.push({ name: key.attrs['name'] as string, dtype: 'i32', shape: [2], node: key.id });
  const params = [...m.params.map((p) => ({ ...p, trainable: false })), ...adapterParams];
  return {
    instance: m.instance,
    graph,
    params,
    inputs,
    outputs: graph.outputs,
    taps: remap(m.taps, ad),
    baseTaps: withBase ? remap(m.taps, base) : new Map(),
    layers: m.layers,
    flops: forwardFlops(
      graph,
      m.graph.outputs.map((o) => (ad[o.node] as Node).id),
    ),
    adapter: spec,
    sites,
    adapterParams,
    scale,
  };
}

/** FLOPs of the nodes the given outputs depend on (the adapted forward, without the base copy). */
function forwardFlops(g: Graph, roots: readonly number[]): number {
  const live = new Uint8Array(g.nodes.length);
  for (const r of roots) live[r] = 1;
  let flops = 0;
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    if (!live[i]) continue;
    const n = g.nodes[i] as Node;
    flops += nodeFlops(n, g.nodes);
    for (const j of n.inputs) live[j] = 1;
  }
  return flops;
}
