// An `inherit` declaration's fields, read into plain data. The checker has already validated the
// field names and argument kinds; what is left here are values (lists, sizes, paths), each kept
// with its span so later problems are reported at the spec line that caused them.

import type { BindingDecl, Decl, Expr, Field, InheritDecl, Span } from '../../../grammar/ast.ts';
import type { Code } from '../../../grammar/diagnostics/catalog.ts';

export type Metric = 'l1' | 'l2' | 'taylor' | 'activation' | 'learned_mask';
export const DATA_METRICS: readonly Metric[] = ['taylor', 'activation', 'learned_mask'];

/** A data source call (`brown(split = "calib", batches = 8)`) with its constant arguments. */
export interface DataRef {
  readonly source: string;
  readonly args: Readonly<Record<string, number | string | boolean>>;
  readonly span: Span;
}

export type LayerRuleSpec =
  | { kind: 'list'; keep: number[]; span: Span }
  | { kind: 'keep_ends'; first: number; last: number; span: Span }
  | { kind: 'block_influence' | 'drop_one'; calib: DataRef | undefined; span: Span };

export type UnitRuleSpec =
  | { kind: 'list'; keep: number[]; span: Span }
  | { kind: 'metric'; metric: Metric; calib: DataRef | undefined; steps: number; penalty: number; span: Span };

export interface VocabSpec {
  readonly kind: 'compress' | 'list';
  readonly tokenizer?: string;
  readonly corpus?: DataRef;
  readonly size?: number;
  readonly coverage?: number;
  readonly keep?: number[];
  readonly span: Span;
}

export interface InheritSpec {
  readonly decl: InheritDecl;
  readonly layers?: LayerRuleSpec;
  readonly units: Partial<Record<'dim' | 'heads' | 'ffn' | 'channels', UnitRuleSpec>>;
  readonly vocab?: VocabSpec;
  readonly blocks?: { map: Map<string, string>; span: Span };
  readonly except: { pattern: string; span: Span }[];
  readonly init?: { name: string; span: Span };
  readonly seed: number;
}

/** A field value this reader cannot use (the checker lets through some forms only lowering knows). */
export class FieldError extends Error {
  constructor(
    readonly span: Span,
    message: string,
    readonly code: Code = 'E0801',
  ) {
    super(message);
    this.name = 'FieldError';
  }
}

type Const = number | string | boolean | Const[];

export function calleeName(e: Expr): string | undefined {
  if (e.kind === 'call' && e.callee.kind === 'ref' && e.callee.path.length === 1 && e.callee.path[0]!.kind === 'name') return e.callee.path[0]!.name;
  if (e.kind === 'ref' && e.path.length === 1 && e.path[0]!.kind === 'name') return e.path[0]!.name;
  return undefined;
}

/** Resolves a reference to a top-level `let` (e.g. `calib`) to its value. */
export function deref(e: Expr, lets: ReadonlyMap<string, BindingDecl>, depth = 0): Expr {
  if (e.kind !== 'ref' || e.path.length !== 1 || depth > 16) return e;
  const name = e.path[0]!.kind === 'name' ? e.path[0]!.name : '';
  const b = lets.get(name);
  return b === undefined ? e : deref(b.value, lets, depth + 1);
}

export function constOf(e: Expr, lets: ReadonlyMap<string, BindingDecl>): Const {
  const v = deref(e, lets);
  switch (v.kind) {
    case 'num':
      return v.value;
    case 'str':
      return v.value;
    case 'bool':
      return v.value;
    case 'unary':
      if (v.op === '-') {
        const x = constOf(v.arg, lets);
        if (typeof x === 'number') return -x;
      }
      break;
    case 'list':
    case 'tuple':
      return v.items.map((x) => constOf(x, lets));
    default:
      break;
  }
  throw new FieldError(v.span, 'expected a constant (a number, string or list)');
}

function ints(e: Expr, lets: ReadonlyMap<string, BindingDecl>, what: string): number[] {
  const v = constOf(e, lets);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) throw new FieldError(e.span, `${what} must be a list of integers`);
  return v as number[];
}

/** Named or positional argument of a call, by the signature's order. */
export function arg(e: Expr, order: readonly string[], name: string): Expr | undefined {
  if (e.kind !== 'call') return undefined;
  const named = e.args.find((a) => a.name === name);
  if (named !== undefined) return named.value;
  return e.args.filter((a) => a.name === undefined)[order.indexOf(name)]?.value;
}

export function numArg(e: Expr, order: readonly string[], name: string, lets: ReadonlyMap<string, BindingDecl>, dflt: number): number {
  const a = arg(e, order, name);
  if (a === undefined) return dflt;
  const v = constOf(a, lets);
  if (typeof v !== 'number') throw new FieldError(a.span, `${name} must be a number`);
  return v;
}

export function dataRef(e: Expr | undefined, lets: ReadonlyMap<string, BindingDecl>): DataRef | undefined {
  if (e === undefined) return undefined;
  const v = deref(e, lets);
  const source = calleeName(v);
  if (v.kind !== 'call' || source === undefined) throw new FieldError(e.span, 'expected a data source such as brown(split = "calib", batches = 8)');
  const args: Record<string, number | string | boolean> = {};
  for (const a of v.args) {
    if (a.name === undefined) continue;
    const c = constOf(a.value, lets);
    if (!Array.isArray(c)) args[a.name] = c;
  }
  return { source, args, span: v.span };
}

export function layerRule(f: Field, lets: ReadonlyMap<string, BindingDecl>): LayerRuleSpec {
  const v = f.value;
  if (v.kind === 'list') return { kind: 'list', keep: ints(v, lets, 'a layer list'), span: v.span };
  const name = calleeName(v);
  if (name === 'keep_ends')
    return { kind: 'keep_ends', first: numArg(v, ['first', 'last'], 'first', lets, 1), last: numArg(v, ['first', 'last'], 'last', lets, 1), span: v.span };
  if (name === 'indices') return { kind: 'list', keep: ints(arg(v, ['keep'], 'keep') ?? v, lets, 'indices(keep)'), span: v.span };
  if (name === 'block_influence' || name === 'drop_one') return { kind: name, calib: dataRef(arg(v, ['calib'], 'calib'), lets), span: v.span };
  throw new FieldError(v.span, 'layers must be a list of indices, keep_ends(first, last), block_influence(calib) or drop_one(calib)');
}

export const METRIC_ORDER: Record<Metric, string[]> = {
  l1: ['ratio', 'size'],
  l2: ['ratio', 'size'],
  taylor: ['calib', 'ratio', 'size'],
  activation: ['calib', 'ratio', 'size'],
  learned_mask: ['calib', 'steps', 'penalty', 'ratio', 'size'],
};

export function unitRule(f: Field, lets: ReadonlyMap<string, BindingDecl>): UnitRuleSpec {
  const v = f.value;
  if (v.kind === 'list') return { kind: 'list', keep: ints(v, lets, `${f.key}`), span: v.span };
  const name = calleeName(v);
  if (name === 'indices') return { kind: 'list', keep: ints(arg(v, ['keep'], 'keep') ?? v, lets, 'indices(keep)'), span: v.span };
  if (name !== undefined && Object.hasOwn(METRIC_ORDER, name)) {
    const metric = name as Metric;
    const order = METRIC_ORDER[metric];
    // The child model sets the size; a target here would be ignored (it applies in `prune`).
    for (const k of ['ratio', 'size']) {
      const a = arg(v, order, k);
      if (a !== undefined) throw new FieldError(a.span, `\`${k}\` does not apply in inherit: the child's ${f.key} is the size its model declares`, 'E0611');
    }
    return {
      kind: 'metric',
      metric,
      calib: dataRef(arg(v, order, 'calib'), lets),
      steps: numArg(v, order, 'steps', lets, 200),
      penalty: numArg(v, order, 'penalty', lets, 1),
      span: v.span,
    };
  }
  throw new FieldError(v.span, `${f.key} must be l1, l2, taylor(calib), activation(calib), learned_mask(calib) or an index list`);
}

function vocabRule(f: Field, lets: ReadonlyMap<string, BindingDecl>): VocabSpec {
  const v = f.value;
  if (v.kind === 'list') return { kind: 'list', keep: ints(v, lets, 'vocab'), span: v.span };
  if (calleeName(v) !== 'compress') throw new FieldError(v.span, 'vocab must be compress(tokenizer, corpus, size | coverage) or a list of token ids');
  const order = ['tokenizer', 'corpus', 'size', 'coverage'];
  const tok = arg(v, order, 'tokenizer');
  const tokenizer = tok === undefined ? undefined : constOf(tok, lets);
  if (typeof tokenizer !== 'string') throw new FieldError(v.span, 'compress needs tokenizer = "path/to/tokenizer.json"');
  const size = arg(v, order, 'size');
  const coverage = arg(v, order, 'coverage');
  const out: VocabSpec = {
    kind: 'compress',
    tokenizer,
    span: v.span,
    ...(dataRef(arg(v, order, 'corpus'), lets) === undefined ? {} : { corpus: dataRef(arg(v, order, 'corpus'), lets)! }),
  };
  return {
    ...out,
    ...(size === undefined ? {} : { size: numArg(v, order, 'size', lets, 0) }),
    ...(coverage === undefined ? {} : { coverage: numArg(v, order, 'coverage', lets, 1) }),
  };
}

/** Reads an inherit declaration; `decls` gives the top-level `let`s its fields may name. */
export function readInheritSpec(decl: InheritDecl, decls: readonly Decl[]): InheritSpec {
  const lets = new Map(decls.filter((d): d is BindingDecl => d.kind === 'binding').map((d) => [d.name.name, d]));
  const units: InheritSpec['units'] = {};
  let spec: InheritSpec = { decl, units, except: [], seed: 0 };
  for (const f of decl.fields) {
    switch (f.key) {
      case 'layers':
        spec = { ...spec, layers: layerRule(f, lets) };
        break;
      case 'dim':
      case 'heads':
      case 'ffn':
      case 'channels':
        units[f.key] = unitRule(f, lets);
        break;
      case 'vocab':
        spec = { ...spec, vocab: vocabRule(f, lets) };
        break;
      case 'blocks': {
        const v = deref(f.value, lets);
        if (v.kind !== 'record') throw new FieldError(f.value.span, 'blocks must be a record { "child block" = "parent block", … }');
        const map = new Map<string, string>();
        for (const r of v.fields) {
          const target = constOf(r.value, lets);
          if (typeof target !== 'string') throw new FieldError(r.value.span, 'a block maps to a parent block path string');
          map.set(r.key, target);
        }
        spec = { ...spec, blocks: { map, span: v.span } };
        break;
      }
      case 'except':
        if (f.value.kind === 'list')
          spec.except.push(...f.value.items.filter((i) => i.kind === 'str').map((i) => ({ pattern: i.kind === 'str' ? i.value : '', span: i.span })));
        break;
      case 'init': {
        const name = calleeName(f.value);
        if (name !== undefined) spec = { ...spec, init: { name, span: f.value.span } };
        break;
      }
      case 'seed': {
        const s = constOf(f.value, lets);
        if (typeof s === 'number') spec = { ...spec, seed: s };
        break;
      }
      default:
        break;
    }
  }
  return spec;
}
