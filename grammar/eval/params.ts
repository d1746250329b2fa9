// Model parameters and constants of an instance: which declaration a model name runs (following
// `model Tiny = Llama(…)` chains), its parameter values (defaults over earlier parameters, derived
// arguments, command-line overrides), and the throwing forms of value.ts that lowering uses.
//
// Example: modelParams(index, 'Tiny') → { decl: Llama, values: Map { dim → 192, ffn → 768, … } }
// (`ffn = dim * 4` is evaluated after Tiny's `dim = 192` is applied).

import type { Arg, Decl, DerivedModelDecl, Expr, LayerDecl, ModelDecl, Program, Ref, Span } from '../ast.ts';
import { type Cycle, cycleError, findCycles } from './cycles.ts';
import { commandLineSpan, LowerError, nearest } from './errors.ts';
import { type ConstEnv, describeValue, type EvalResult, evalConst, notConstText, refText, type Value } from './value.ts';

export type Binding = { kind: 'const'; value: Value } | { kind: 'tensor'; id: string };

/** Every model (plain or derived) and user layer of a program and the programs it imports. */
export interface DeclIndex {
  models: Map<string, ModelDecl | DerivedModelDecl>;
  layers: Map<string, LayerDecl>;
}

export function indexDecls(programs: Program | readonly Program[]): DeclIndex {
  const list = Array.isArray(programs) ? (programs as readonly Program[]) : [programs as Program];
  return indexOf(list.flatMap((p) => p.decls));
}

/** The index of a list of declarations; a later declaration of a name replaces an earlier one. */
export function indexOf(decls: readonly Decl[]): DeclIndex {
  const models = new Map<string, ModelDecl | DerivedModelDecl>();
  const layers = new Map<string, LayerDecl>();
  for (const d of decls) {
    if (d.kind === 'model' || d.kind === 'derived') models.set(d.name.name, d);
    else if (d.kind === 'layer') layers.set(d.name.name, d);
  }
  return { models, layers };
}

/** Names of the models a program declares (plain and derived), in source order. */
export function modelNames(program: Program): string[] {
  return program.decls.filter((d) => d.kind === 'model' || d.kind === 'derived').map((d) => d.name.name);
}

export interface ResolvedModel {
  /** The body-bearing declaration. */
  decl: ModelDecl;
  /** Argument lists of the derived declarations, base-most first. */
  args: Arg[][];
  /** The derived declaration the name denotes, if it is one. */
  derived?: DerivedModelDecl;
}

/** Follows `model A = B(…)` chains to the body-bearing declaration, collecting argument overrides. */
export function resolveModel(index: DeclIndex, name: string, span: Span): ResolvedModel {
  const chain: Arg[][] = [];
  const seen = new Set<string>();
  let cur = index.models.get(name);
  if (cur === undefined) {
    const hint = nearest(name, [...index.models.keys()]);
    throw new LowerError(
      'E0307',
      `no model named '${name}'`,
      span,
      [{ message: `models: ${[...index.models.keys()].join(', ') || '(none)'}` }],
      hint === undefined ? undefined : `did you mean '${hint}'?`,
    );
  }
  const derived = cur.kind === 'derived' ? cur : undefined;
  while (cur.kind === 'derived') {
    if (seen.has(cur.name.name)) throw cycleError(cyclesOf(index, cur.name.name));
    seen.add(cur.name.name);
    chain.unshift(cur.args); // base-most arguments apply first
    const next: ModelDecl | DerivedModelDecl | undefined = index.models.get(cur.base.name);
    if (next === undefined) throw new LowerError('E0307', `no model named '${cur.base.name}'`, cur.base.span);
    cur = next;
  }
  return { decl: cur, args: chain, ...(derived === undefined ? {} : { derived }) };
}

/** The cycle of derived models through `name`. */
function cyclesOf(index: DeclIndex, name: string): Cycle {
  const all = findCycles(index).filter((c) => c.kind === 'model');
  return all.find((c) => c.names.includes(name)) ?? all[0]!;
}

/** One parameter's outcome: its value, or why it has none (no default, or not a constant). */
export type ParamResult = { name: string; span: Span; result: EvalResult | 'no-default' };

/**
 * Parameter values in declaration order. Each default is evaluated over the parameters before it
 * *after* derived arguments and overrides are applied (`model M(dim = 64, ffn = dim * 4)`,
 * `model S = M(dim = 32)` gives `ffn = 128`); a derived argument is a constant of its own.
 * A parameter that fails has no value; the ones after it that use it fail with its name.
 * `unknown` holds the arguments that name no parameter (E0413).
 */
export function evalParams(
  decl: ModelDecl,
  chain: readonly (readonly Arg[])[],
  overrides: Readonly<Record<string, Value>> = {},
): { params: ParamResult[]; unknown: LowerError[] } {
  const names = decl.params.map((p) => p.name.name);
  const given = new Map<string, Expr>();
  const unknown: LowerError[] = [];
  for (const args of chain) {
    args.forEach((a, k) => {
      const name = a.name ?? names[k];
      if (name === undefined || !names.includes(name)) {
        unknown.push(new LowerError('E0413', `the base model '${decl.name.name}' has no parameter '${a.name ?? `#${k + 1}`}'`, a.span));
      } else given.set(name, a.value);
    });
  }
  for (const k of Object.keys(overrides)) {
    if (!names.includes(k)) unknown.push(new LowerError('E0413', `model '${decl.name.name}' has no parameter '${k}'`, commandLineSpan(k)));
  }
  const env = new Map<string, Value>();
  const params: ParamResult[] = [];
  for (const p of decl.params) {
    const name = p.name.name;
    const override = overrides[name];
    const g = given.get(name);
    let result: EvalResult | 'no-default';
    if (override !== undefined) result = { ok: true, value: override };
    else if (g !== undefined) result = evalConst(g, new Map());
    else if (p.default !== undefined) result = evalConst(p.default, env);
    else result = 'no-default';
    if (result !== 'no-default' && result.ok) env.set(name, result.value);
    params.push({ name, span: p.span, result });
  }
  return { params, unknown };
}

/** The parameter values of a model, or the first error (E0413, E0414 no default, E0415 not constant). */
export function modelParams(decl: ModelDecl, chain: readonly (readonly Arg[])[], overrides: Readonly<Record<string, Value>> = {}): Record<string, Value> {
  const { params, unknown } = evalParams(decl, chain, overrides);
  if (unknown[0] !== undefined) throw unknown[0];
  const out: Record<string, Value> = {};
  for (const p of params) {
    const r = paramValue(p);
    if (r instanceof LowerError) throw r;
    out[p.name] = r;
  }
  return out;
}

/** A parameter's value, or the error that it has none. */
export function paramValue(p: ParamResult): Value | LowerError {
  if (p.result === 'no-default') return new LowerError('E0414', `model parameter '${p.name}' has no value`, p.span);
  if (!p.result.ok) return notConstError(p.result, new Map());
  return p.result.value;
}

/** The constants of a binding environment, as value.ts reads them. */
export function constsOf(env: ReadonlyMap<string, Binding>): ConstEnv {
  return {
    get: (name) => {
      const b = env.get(name);
      return b?.kind === 'const' ? b.value : undefined;
    },
  };
}

/** The diagnostic for a failed evaluation: an undefined name, a tensor, or a bad operation. */
export function notConstError(r: Extract<EvalResult, { ok: false }>, env: ReadonlyMap<string, Binding>): LowerError {
  const err = r.err;
  if (err.why !== 'name') return new LowerError('E0415', `a constant expression failed: ${notConstText(err)}`, err.span);
  if (env.get(err.name)?.kind === 'tensor') return new LowerError('E0415', `'${err.name}' is a tensor where a constant is expected`, err.span);
  const hint = nearest(err.name, [...env.keys()]);
  return new LowerError('E0301', `'${err.name}' is not defined here`, err.span, [], hint === undefined ? undefined : `did you mean '${hint}'?`);
}

/** The value of a fold, or its error as a diagnostic (lowering's form of value.ts). */
export function valueOrThrow(r: EvalResult, env: ReadonlyMap<string, Binding> = new Map()): Value {
  if (!r.ok) throw notConstError(r, env);
  return r.value;
}

/** Evaluates an expression that must be constant under `env` (tensors not allowed); throws otherwise. */
export function constOf(e: Expr, env: ReadonlyMap<string, Binding>): Value {
  const r = evalConst(e, constsOf(env));
  if (!r.ok) throw notConstError(r, env);
  return r.value;
}

/** `layers[i].self_attn` with i = 3 → `layers.3.self_attn`. */
export function evalPath(r: Ref, env: ReadonlyMap<string, Binding>): string {
  const parts: string[] = [];
  for (const [k, seg] of r.path.entries()) {
    if (seg.kind === 'name') {
      parts.push(seg.name);
      continue;
    }
    if (k === 0) throw new LowerError('E0609', 'a parameter path must start with a name', seg.span, [], 'e.g. `layers[i]`');
    const v = evalConst(seg.index, constsOf(env));
    if (!v.ok) {
      if (v.err.why === 'name') throw notConstError(v, env);
      throw new LowerError('E0609', `a path index must be a constant: ${notConstText(v.err)}`, seg.index.span);
    }
    if (typeof v.value !== 'number' || !Number.isInteger(v.value) || v.value < 0) {
      throw new LowerError('E0609', `a path index must be a non-negative integer, found ${describeValue(v.value)}`, seg.index.span);
    }
    parts.push(String(v.value));
  }
  return parts.join('.');
}

export { refText };
