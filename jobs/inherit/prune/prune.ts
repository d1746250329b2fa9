// `prune MODEL [to NAME] { … }`: the selection of `inherit`, in place. The child is MODEL's own
// family at smaller sizes — each field gives a target (`heads = taylor(calib, ratio = 0.5)`,
// `ffn = 512`, `dim = 0.75` with the default `metric`) — so the model parameters that set those
// sizes are found (by conventional name, checked by lowering) and overridden, and the rest is
// inheritance from the unpruned checkpoint: one shot. Iterative and learned-mask schedules run
// during training; `pruneStep` (prune-step.ts) is what a training loop calls every N steps.

import type { BindingDecl, Decl, Expr, Field, InheritDecl, PruneDecl, Span } from '../../../grammar/ast.ts';
import { lowerModel, type LoweredModel } from '../../../compiler/lower/lower-model.ts';
import { allModuleGroups } from '../layout/axes.ts';
import { InheritError, layerStack, residualWidth, type ModelLayout } from '../layout/layout.ts';
import { layoutOf } from '../layout/layout-from-model.ts';
import { normalizePath } from '../../../grammar/check/patterns.ts';
import { channelOverrides, checkDropped, declaredModel, dropBlocks } from './prune-unet.ts';
import {
  arg,
  calleeName,
  constOf,
  dataRef,
  FieldError,
  METRIC_ORDER,
  numArg,
  type DataRef,
  type InheritSpec,
  type Metric,
  type UnitRuleSpec,
} from '../spec/spec-fields.ts';

type SizeKind = 'dim' | 'heads' | 'ffn' | 'depth';

/** Conventional parameter names per size, most likely first. */
const NAMES: Record<SizeKind | 'kv', readonly string[]> = {
  dim: ['dim', 'd_model', 'hidden', 'hidden_size', 'width', 'n_embd', 'embed_dim'],
  heads: ['heads', 'n_heads', 'num_heads', 'n_head', 'num_attention_heads'],
  kv: ['kv_heads', 'n_kv_heads', 'num_key_value_heads', 'kv'],
  ffn: ['ffn', 'ffn_dim', 'intermediate_size', 'hidden_dim', 'mlp_dim', 'mlp'],
  depth: ['depth', 'layers', 'n_layers', 'num_layers', 'n_layer', 'num_hidden_layers'],
};

export interface PrunedModel {
  /** Selection rules, as an inherit declaration of the pruned model from MODEL would give. */
  readonly spec: InheritSpec;
  /** MODEL's parameter overrides that give the pruned sizes. */
  readonly overrides: Record<string, number>;
  readonly child: LoweredModel;
  /** `one_shot`, `iterative` or `learned_mask`: only one_shot is applied here. */
  readonly schedule: string;
}

interface Target {
  readonly rule: UnitRuleSpec;
  readonly ratio?: number;
  readonly size?: number;
}

/** A size field: a number (ratio below 1, else a count), a metric call, or an index list. */
function readTarget(f: Field, lets: ReadonlyMap<string, BindingDecl>, metric: Expr | undefined, calib: DataRef | undefined): Target {
  const v = f.value;
  const fromMetric = (e: Expr | undefined): UnitRuleSpec => {
    if (e === undefined) return { kind: 'metric', metric: 'l2', calib, steps: 200, penalty: 1, span: f.value.span };
    const name = calleeName(e);
    if (name === undefined || !Object.hasOwn(METRIC_ORDER, name))
      throw new FieldError(e.span, 'metric must be l1, l2, taylor(calib), activation(calib) or learned_mask(calib)');
    const order = METRIC_ORDER[name as Metric];
    return {
      kind: 'metric',
      metric: name as Metric,
      calib: dataRef(arg(e, order, 'calib'), lets) ?? calib,
      steps: numArg(e, order, 'steps', lets, 200),
      penalty: numArg(e, order, 'penalty', lets, 1),
      span: e.span,
    };
  };
  if (v.kind === 'num') return v.value > 0 && v.value < 1 ? { rule: fromMetric(metric), ratio: v.value } : { rule: fromMetric(metric), size: v.value };
  if (v.kind === 'list' || calleeName(v) === 'indices') {
    const c = constOf(v.kind === 'list' ? v : (arg(v, ['keep'], 'keep') ?? v), lets);
    if (!Array.isArray(c) || !c.every((x) => typeof x === 'number')) throw new FieldError(v.span, `${f.key} must list the kept indices`);
    return { rule: { kind: 'list', keep: c as number[], span: v.span }, size: c.length };
  }
  const rule = fromMetric(v);
  const order = METRIC_ORDER[(rule as Extract<UnitRuleSpec, { kind: 'metric' }>).metric];
  const size = arg(v, order, 'size');
  const ratio = numArg(v, order, 'ratio', lets, 1);
  return size === undefined ? { rule, ratio } : { rule, size: numArg(v, order, 'size', lets, 0) };
}

const targetOf = (t: Target, units: number, what: string, span: Span): number => {
  const n = t.size ?? Math.round(units * (t.ratio ?? 1));
  if (!Number.isInteger(n) || n < 1 || n > units)
    throw new FieldError(span, `${what}: ${n} of ${units} is not a size the model can be pruned to (1..${units})`);
  return n;
};

/** The model parameter holding `value` for a size, by conventional name first; undefined if none. */
function paramFor(params: Readonly<Record<string, unknown>>, kind: SizeKind | 'kv', value: number, taken: ReadonlySet<string>): string | undefined {
  const hits = Object.entries(params)
    .filter(([k, v]) => v === value && !taken.has(k))
    .map(([k]) => k);
  return hits.find((k) => NAMES[kind].includes(k)) ?? (hits.length === 1 ? hits[0] : undefined);
}

function sizesOf(l: ModelLayout): Partial<Record<SizeKind | 'kv', number>> {
  const groups = [...allModuleGroups(l).values()];
  const heads = groups.find((g) => g.kind === 'heads');
  const ffn = groups.find((g) => g.kind === 'ffn');
  return {
    ...(residualWidth(l) === undefined ? {} : { dim: residualWidth(l)! }),
    ...(heads === undefined ? {} : { heads: heads.units, kv: heads.kv?.units ?? heads.units }),
    ...(ffn === undefined ? {} : { ffn: ffn.units }),
    ...(layerStack(l) === undefined ? {} : { depth: layerStack(l)!.depth }),
  };
}

/**
 * Reads a prune declaration and lowers its child. `parent` is MODEL lowered.
 *
 * @example
 * const { spec, child } = prunedModel(programs, decl, lowerModel(programs, 'Llama'), '/ckpt.safetensors');
 */
export function prunedModel(programs: readonly { decls: readonly Decl[] }[], decl: PruneDecl, parent: LoweredModel, parentPath: string): PrunedModel {
  const decls = programs.flatMap((p) => p.decls);
  const lets = new Map(decls.filter((d): d is BindingDecl => d.kind === 'binding').map((d) => [d.name.name, d]));
  const field = (k: string) => decl.fields.find((f) => f.key === k);
  const calib = dataRef(field('calib')?.value, lets);
  const metric = field('metric')?.value;
  const scheduleExpr = field('schedule')?.value;
  const schedule = scheduleExpr === undefined ? 'one_shot' : (calleeName(scheduleExpr) ?? 'one_shot');
  const seedExpr = field('seed')?.value;
  const seed = seedExpr === undefined ? 0 : Number(constOf(seedExpr, lets));
  const pl = layoutOf(parent);
  // Dropping blocks changes the structure, which no parameter sets: the child is the declared `to` model.
  const bf = field('blocks');
  let blocks: Map<string, string> | undefined;
  let declaredChild: LoweredModel | undefined;
  if (bf !== undefined) {
    blocks = dropBlocks(bf.value, lets, pl, decl.model.name);
    const dropped = new Set((constOf((bf.value as Extract<Expr, { kind: 'call' }>).args[0]!.value, lets) as string[]).map(normalizePath)).size;
    if (decl.to === undefined || !declaredModel(decls, decl.to.name)) {
      throw new FieldError(
        bf.value.span,
        `prune: removing blocks changes ${decl.model.name}'s structure, which no parameter sets; declare the smaller model (${decl.model.name} without those units) and write \`prune ${decl.model.name} to ${decl.to?.name ?? 'ThatModel'} { … }\``,
      );
    }
    declaredChild = lowerModel([...programs] as never, decl.to.name);
    checkDropped(pl, layoutOf(declaredChild), blocks, dropped, decl.model.name, decl.to.name);
  }
  const sizes = sizesOf(pl);
  const overrides: Record<string, number> = {};
  const taken = new Set<string>();
  const units: InheritSpec['units'] = {};
  const want: Partial<Record<SizeKind | 'kv', number>> = {};
  const set = (kind: SizeKind | 'kv', value: number, span: Span) => {
    const from = sizes[kind];
    if (from === undefined) throw new FieldError(span, `prune: ${decl.model.name} has no ${kind} to prune`);
    want[kind] = value;
    if (value === from) return;
    const name = paramFor(parent.instance.params, kind, from, taken);
    if (name === undefined)
      throw new FieldError(
        span,
        `prune: no parameter of ${decl.model.name} sets its ${kind} (${from}); name it ${NAMES[kind][0]} so the pruned size can be set`,
      );
    taken.add(name);
    overrides[name] = value;
  };
  for (const kind of ['dim', 'ffn', 'heads'] as const) {
    const f = field(kind);
    if (f === undefined) continue;
    const t = readTarget(f, lets, metric, calib);
    units[kind] = t.rule;
    const from = sizes[kind];
    if (from === undefined) throw new FieldError(f.value.span, `prune: ${decl.model.name} has no ${kind} to prune`);
    let n = targetOf(t, from, kind, f.value.span);
    if (kind === 'heads') {
      // Whole KV groups go together (GQA), so the head count rounds to the group size.
      const kv = sizes.kv ?? from;
      const g = from / kv;
      const kvn = Math.max(1, Math.round(n / g));
      n = kvn * g;
      if (kv !== from) set('kv', kvn, f.value.span);
    }
    set(kind, n, f.value.span);
  }
  const cf = field('channels');
  if (cf !== undefined) {
    const t = readTarget(cf, lets, metric, calib);
    units.channels = t.rule;
    if (declaredChild === undefined) {
      const first = pl.modules.find((x) => x.kind === 'Conv2d');
      const from = pl.params.find((x) => x.path === `${first?.path}.weight`)?.shape[0];
      if (from === undefined) throw new FieldError(cf.value.span, `prune: ${decl.model.name} has no Conv2d, so it has no channels to prune`);
      Object.assign(overrides, channelOverrides(parent.instance.params, pl, targetOf(t, from, 'channels', cf.value.span), decl.model.name, cf.value.span));
    }
  }
  let layers: InheritSpec['layers'];
  const lf = field('layers');
  if (lf !== undefined) {
    const v = lf.value;
    const depth = sizes.depth;
    if (depth === undefined) throw new FieldError(v.span, `prune: ${decl.model.name} has no layer stack`);
    if (v.kind === 'list') {
      const keep = constOf(v, lets);
      if (!Array.isArray(keep) || !keep.every((x) => typeof x === 'number')) throw new FieldError(v.span, 'layers must list the kept layer indices');
      layers = { kind: 'list', keep: keep as number[], span: v.span };
      set('depth', keep.length, v.span);
    } else if (v.kind === 'num') {
      const n = v.value > 0 && v.value < 1 ? Math.round(depth * v.value) : v.value;
      layers = { kind: 'keep_ends', first: 1, last: 1, span: v.span };
      set('depth', targetOf({ rule: { kind: 'list', keep: [], span: v.span }, size: n }, depth, 'layers', v.span), v.span);
    } else if (calleeName(v) === 'keep_ends') {
      throw new FieldError(v.span, 'prune: give the kept layer count (`layers = 6` keeps the ends and spaces the rest) or the kept indices');
    } else throw new FieldError(v.span, 'prune: layers must be a count, a ratio or a list of kept indices');
  }

  const child = declaredChild ?? lowerModel([...programs] as never, decl.model.name, { overrides });
  const got = sizesOf(layoutOf(child));
  const headWidth = (m: LoweredModel) => {
    const g = [...allModuleGroups(layoutOf(m)).values()].find((x) => x.kind === 'heads');
    return g?.members[0]?.unit;
  };
  if (headWidth(child) !== headWidth(parent)) {
    throw new InheritError([
      `prune ${decl.model.name}: with ${Object.entries(overrides)
        .map(([k, v]) => `${k} = ${v}`)
        .join(
          ', ',
        )} a head is ${headWidth(child)} wide instead of ${headWidth(parent)} (the family derives the head width from the others): prune \`dim\` by the same ratio as \`heads\``,
    ]);
  }
  const wrong = (Object.keys(want) as (SizeKind | 'kv')[]).filter((k) => got[k] !== want[k]).map((k) => `${k} ${got[k]} (wanted ${want[k]})`);
  if (wrong.length > 0)
    throw new InheritError([
      `prune ${decl.model.name}: overriding ${Object.entries(overrides)
        .map(([k, v]) => `${k} = ${v}`)
        .join(', ')} gives ${wrong.join(', ')}`,
    ]);
  const name = decl.to ?? decl.model;
  const inheritDecl: InheritDecl = {
    kind: 'inherit',
    child: name,
    parent: decl.model,
    at: { kind: 'str', value: parentPath, span: decl.span },
    fields: [],
    span: decl.span,
  };
  const spec: InheritSpec = {
    decl: inheritDecl,
    units,
    except: [],
    seed,
    ...(layers === undefined ? {} : { layers }),
    ...(blocks === undefined ? {} : { blocks: { map: blocks, span: bf!.value.span } }),
  };
  return { spec, overrides, child, schedule };
}
