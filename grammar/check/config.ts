// Configuring declarations (inherit, prune, adapter, train, sample): field names against
// CONFIG_FIELDS, required fields, duplicates, value kinds and ranges, records' keys, and the
// expressions of `expr` fields walked in the context their field allows.

import type { ConfigDecl, ConfigKind, Expr, Field, Ident, RecordExpr } from '../ast.ts';
import { CONFIG_FIELDS, type FieldSpec, type ValueKind } from '../schema/fields.ts';
import type { Context } from '../library/signatures.ts';
import { didYouMean } from '../diagnostics/suggest.ts';
import { noteAt } from '../diagnostics/make.ts';
import type { CheckContext } from './context.ts';
import { describe, describeValue, evalConst } from './eval.ts';
import { walkExpr, type ExprEnv } from './exprs.ts';
import { FIELD_RANGES, inRange, rangeText } from './ranges.ts';
import type { Scope } from './scope.ts';

/** Library contexts allowed in each `expr` field (fields not listed get special treatment). */
export const FIELD_CONTEXTS: Readonly<Record<string, readonly Context[]>> = {
  'inherit.layers': ['select'],
  'inherit.dim': ['select'],
  'inherit.heads': ['select'],
  'inherit.ffn': ['select'],
  'inherit.channels': ['select'],
  'inherit.vocab': ['select'],
  'inherit.init': ['init'],
  'prune.layers': ['select'],
  'prune.blocks': ['select'],
  'prune.dim': ['select'],
  'prune.heads': ['select'],
  'prune.ffn': ['select'],
  'prune.channels': ['select'],
  'prune.metric': ['select'],
  'prune.schedule': ['select'],
  'prune.calib': ['data'],
  'adapter.init': ['init'],
  'train.data': ['data'],
  'train.calib': ['data'],
  'train.optimizer': ['optimizer'],
  'train.schedule': ['schedule'],
  'train.loss': ['loss', 'fn', 'schedule'],
  'sample.sampler': ['sampler'],
  'sample.reuse': ['reuse'],
  'sample.classes': [],
};

export interface RecordKey {
  readonly kind: ValueKind;
  readonly contexts?: readonly Context[];
  readonly required?: boolean;
}

/** Keys of the record-valued fields. */
export const RECORD_FIELDS: Readonly<Record<string, Readonly<Record<string, RecordKey>>>> = {
  'train.eval': { data: { kind: 'expr', contexts: ['data'], required: true }, every: { kind: 'int' } },
  'train.checkpoint': { every: { kind: 'int', required: true }, keep: { kind: 'int' } },
  'train.rounds': { count: { kind: 'int', required: true }, sample: { kind: 'number' }, weight: { kind: 'expr', contexts: ['round', 'fn'] } },
};

const KIND_TEXT: Record<ValueKind, string> = {
  expr: 'an expression',
  string: 'a string',
  strings: 'a list of strings',
  int: 'an integer',
  number: 'a number',
  bool: 'true or false',
  model: 'a model name',
};

/** Which name a declaration is known by, for "`train Tiny` is missing …". */
export function declLabel(d: ConfigDecl): { label: string; at: Ident } {
  switch (d.kind) {
    case 'inherit':
      return { label: `inherit ${d.child.name}`, at: d.child };
    case 'prune':
      return { label: `prune ${d.model.name}`, at: d.model };
    case 'adapter':
      return { label: `adapter ${d.name.name}`, at: d.name };
    case 'train':
      return { label: `train ${d.target.name}`, at: d.target };
    case 'sample':
      return { label: `sample ${d.target.name}`, at: d.target };
  }
}

/**
 * Checks the fields of a declaration. `scopeFor` gives the names visible in a field's value;
 * `special` lists fields another check walks itself (loss, switch, teacher, …).
 */
export function checkFields(ctx: CheckContext, decl: ConfigDecl, scopeFor: (key: string) => Scope, special: ReadonlySet<string> = new Set()): void {
  const table = CONFIG_FIELDS[decl.kind] as Record<string, FieldSpec>;
  const seen = new Map<string, Field>();
  const { label, at } = declLabel(decl);
  for (const field of decl.fields) {
    const spec = Object.hasOwn(table, field.key) ? table[field.key] : undefined;
    if (spec === undefined) {
      ctx.report('E0408', field.keySpan, `\`${decl.kind}\` has no field \`${field.key}\``, {
        notes: [{ message: `its fields: ${Object.keys(table).join(', ')}` }],
        suggestion: didYouMean(field.key, Object.keys(table)),
      });
      continue;
    }
    const prev = seen.get(field.key);
    if (prev !== undefined) {
      ctx.report('E0410', field.keySpan, `field \`${field.key}\` is set twice in \`${label}\``, { notes: [noteAt('first set here', prev.keySpan)] });
      continue;
    }
    seen.set(field.key, field);
    if (special.has(field.key)) continue;
    checkValue(ctx, decl.kind, `${decl.kind}.${field.key}`, `field \`${field.key}\``, spec.kind, field.value, scopeFor(field.key));
  }
  for (const [key, spec] of Object.entries(table)) {
    if (spec.required === true && !seen.has(key)) {
      ctx.report('E0409', at.span, `\`${label}\` is missing the required field \`${key}\``, {
        notes: [{ message: `${key}: ${spec.doc}` }],
        suggestion: `add \`${key} = …\``,
      });
    }
  }
}

/** One value against its kind; `path` keys the context and range tables. */
export function checkValue(ctx: CheckContext, kind: ConfigKind, path: string, what: string, vk: ValueKind, value: Expr, scope: Scope): void {
  const wrong = (help?: string): void => ctx.report('E0411', value.span, `${what} must be ${KIND_TEXT[vk]}, found ${describe(value)}`, { suggestion: help });
  switch (vk) {
    case 'string':
      if (value.kind !== 'str')
        wrong(value.kind === 'ref' && value.path.length === 1 && value.path[0]?.kind === 'name' ? `quote it: \`"${value.path[0].name}"\`` : undefined);
      return;
    case 'strings':
      if (value.kind !== 'list') return wrong('write a list: `["a.*", "b"]`');
      for (const item of value.items)
        if (item.kind !== 'str') ctx.report('E0411', item.span, `${what} must be a list of strings, found ${describe(item)} in it`);
      return;
    case 'int':
    case 'number':
    case 'bool': {
      const r = evalConst(value, scope.consts());
      // A constant that cannot be computed (an integer past 2^53 - 1): the evaluator says why.
      if (!r.ok && r.err.why === 'type' && value.kind !== 'ref') {
        ctx.report('E0411', r.err.span, `${what}: ${r.err.what}`);
        return;
      }
      // A list literal is "a list" here, as it was before lists had values.
      if (!r.ok || value.kind === 'list' || value.kind === 'tuple') {
        if (value.kind === 'ref') walkExpr(ctx, value, env(ctx, path, scope));
        else wrong();
        return;
      }
      const v = r.value;
      const okKind = vk === 'bool' ? typeof v === 'boolean' : typeof v === 'number' && (vk === 'number' || Number.isInteger(v));
      if (!okKind) {
        ctx.report('E0411', value.span, `${what} must be ${KIND_TEXT[vk]}, found ${describeValue(v)}`);
        return;
      }
      const range = FIELD_RANGES[path];
      if (typeof v === 'number' && range !== undefined && !inRange(v, range)) {
        ctx.report('E0412', value.span, `${what} must be ${rangeText(range)}, found ${describeValue(v)}`, { notes: [{ message: range.why }] });
      }
      return;
    }
    case 'model':
      return; // teacher/base: checked by the train checks
    case 'expr': {
      const rec = RECORD_FIELDS[path];
      if (rec !== undefined) {
        if (value.kind !== 'record')
          return wrong(
            `write a record: \`{ ${Object.keys(rec)
              .map((k) => `${k} = …`)
              .join(', ')} }\``,
          );
        return checkRecord(ctx, kind, path, value, rec, scope);
      }
      walkExpr(ctx, value, env(ctx, path, scope));
      return;
    }
  }
}

function env(_ctx: CheckContext, path: string, scope: Scope): ExprEnv {
  const field = path.split('.').slice(1).join('.');
  return { scope, contexts: new Set(FIELD_CONTEXTS[path] ?? []), userLayers: false, where: `the \`${field}\` field`, bareCallables: true };
}

function checkRecord(ctx: CheckContext, kind: ConfigKind, path: string, rec: RecordExpr, keys: Readonly<Record<string, RecordKey>>, scope: Scope): void {
  const seen = new Map<string, RecordExpr['fields'][number]>();
  for (const f of rec.fields) {
    const spec = Object.hasOwn(keys, f.key) ? keys[f.key] : undefined;
    if (spec === undefined) {
      ctx.report('E0416', f.keySpan, `\`${path.split('.')[1]}\` has no key \`${f.key}\``, {
        notes: [{ message: `its keys: ${Object.keys(keys).join(', ')}` }],
        suggestion: didYouMean(f.key, Object.keys(keys)),
      });
      continue;
    }
    const prev = seen.get(f.key);
    if (prev !== undefined) {
      ctx.report('E0410', f.keySpan, `key \`${f.key}\` is set twice`, { notes: [noteAt('first set here', prev.keySpan)] });
      continue;
    }
    seen.set(f.key, f);
    const sub = `${path}.${f.key}`;
    if (spec.kind === 'expr') {
      walkExpr(ctx, f.value, { scope, contexts: new Set(spec.contexts ?? []), userLayers: false, where: `\`${f.key}\``, bareCallables: true });
    } else {
      checkValue(ctx, kind, sub, `\`${f.key}\``, spec.kind, f.value, scope);
    }
  }
  for (const [key, spec] of Object.entries(keys)) {
    if (spec.required === true && !seen.has(key))
      ctx.report('E0409', rec.span, `\`${path.split('.')[1]}\` is missing the key \`${key}\``, { suggestion: `add \`${key} = …\`` });
  }
}
