// train and sample: targets, teacher/base, loss taps, rounds, switch schedules and caches.

import type { Expr, Field, Ident, Ref, SampleDecl, Span, TrainDecl } from '../ast.ts';
import { didYouMean } from '../diagnostics/suggest.ts';
import type { Context } from '../library/signatures.ts';
import { isModelSymbol, type CheckContext } from './context.ts';
import { checkFields, checkValue } from './config.ts';
import { calleeName, walkExpr } from './exprs.ts';
import { instantiate, type ModelInstance } from './models.ts';
import { modulePaths } from './paths.ts';
import { nearestPattern, normalizePath } from './patterns.ts';
import { expectModel, fieldScope, tapsOf } from './references.ts';
import { Scope } from './scope.ts';

/** Fields of data examples that losses may read besides the model's taps. */
export const DATA_FIELDS: readonly string[] = ['label'];

const LOSS_CONTEXTS: ReadonlySet<Context> = new Set(['loss', 'fn', 'schedule']);

/** The model a `train` trains: the model itself, or an adapter's base model. */
function trainTarget(ctx: CheckContext, id: Ident): ModelInstance | undefined {
  const sym = ctx.symbols.get(id.name);
  if (sym?.kind === 'adapter') return isModelSymbol(ctx.symbols.get(sym.decl.on.name)) ? instantiate(ctx, sym.decl.on.name) : undefined;
  if (sym === undefined) {
    const names = [...ctx.modelNames(), ...[...ctx.symbols.values()].filter((s) => s.kind === 'adapter').map((s) => s.name.name)];
    ctx.report('E0307', id.span, `unknown model or adapter \`${id.name}\` (the train target)`, { suggestion: didYouMean(id.name, names) });
    return undefined;
  }
  return expectModel(ctx, id, 'the train target', 'E0701');
}

/** `teacher = Llama frozen`: the model, or undefined after reporting. */
function frozenModel(ctx: CheckContext, field: Field | undefined): ModelInstance | undefined {
  if (field === undefined) return undefined;
  let e: Expr = field.value;
  const frozen = e.kind === 'frozen';
  if (e.kind === 'frozen') e = e.model;
  if (e.kind !== 'ref' || e.path.length !== 1 || e.path[0]?.kind !== 'name') {
    ctx.report('E0411', field.value.span, `field \`${field.key}\` must be a model name, e.g. \`${field.key} = Llama frozen\``);
    return undefined;
  }
  const seg = e.path[0];
  const inst = expectModel(ctx, { name: seg.name, span: seg.span }, `the ${field.key}`);
  if (inst !== undefined && !frozen) {
    ctx.report('E0702', field.value.span, `the ${field.key} \`${seg.name}\` must be frozen`, { suggestion: `write \`${field.key} = ${seg.name} frozen\`` });
  }
  return inst;
}

function lossScope(ctx: CheckContext, inst: ModelInstance | undefined, extra: readonly string[]): Scope {
  const scope = new Scope(fieldScope(ctx, inst), false, (name, info) => {
    if (inst !== undefined && info.kind === 'tap') ctx.markBodyRead(inst.decl, name);
  });
  if (inst !== undefined) for (const [name, tap] of tapsOf(inst.decl)) scope.define(name, { kind: 'tap', span: tap.span });
  for (const d of [...DATA_FIELDS, ...extra]) if (scope.get(d) === undefined) scope.define(d, { kind: 'data' });
  return scope;
}

/** `teacher.logits` / `base.logits`: the tap must exist on that model. */
function modelTapHook(ctx: CheckContext, roles: ReadonlyMap<string, ModelInstance | undefined>, declared: ReadonlySet<string>): (ref: Ref) => boolean {
  return (ref) => {
    const first = ref.path[0];
    if (first?.kind !== 'name' || (first.name !== 'teacher' && first.name !== 'base')) return false;
    const role = first.name;
    if (!declared.has(role)) {
      ctx.report('E0312', first.span, `\`${role}.…\` is used but this \`train\` has no \`${role}\` field`, { suggestion: `add \`${role} = Model frozen\`` });
      return true;
    }
    const inst = roles.get(role);
    if (inst === undefined) return true; // the field itself was reported
    const second = ref.path[1];
    if (second?.kind !== 'name') {
      ctx.report('E0311', ref.span, `\`${role}\` is a model; name one of its taps, e.g. \`${role}.${[...tapsOf(inst.decl).keys()].at(-1) ?? 'logits'}\``);
      return true;
    }
    const taps = tapsOf(inst.decl);
    if (taps.has(second.name)) ctx.markBodyRead(inst.decl, second.name);
    else {
      ctx.report('E0311', second.span, `\`${inst.name}\` (the ${role}) has no tap \`${second.name}\``, {
        notes: [{ message: `its taps: ${[...taps.keys()].join(', ')}` }],
        suggestion: didYouMean(second.name, taps.keys()),
      });
    }
    return true;
  };
}

export function checkTrain(decl: TrainDecl, ctx: CheckContext): void {
  const inst = trainTarget(ctx, decl.target);
  const teacher = frozenModel(
    ctx,
    decl.fields.find((f) => f.key === 'teacher'),
  );
  const base = frozenModel(
    ctx,
    decl.fields.find((f) => f.key === 'base'),
  );
  checkFields(ctx, decl, () => fieldScope(ctx, inst), new Set(['loss', 'teacher', 'base', 'rounds']));
  const declared = new Set(decl.fields.map((f) => f.key).filter((k) => k === 'teacher' || k === 'base'));
  const roles = new Map([
    ['teacher', teacher],
    ['base', base],
  ]);
  const hook = modelTapHook(ctx, roles, declared);
  for (const f of decl.fields) {
    if (f.key === 'loss') {
      const scope = lossScope(ctx, inst, []);
      const onUndefined = (name: string, span: Span): boolean => {
        if (inst === undefined) return false;
        const taps = [...tapsOf(inst.decl).keys()];
        ctx.report('E0310', span, `\`${name}\` is not a tap of \`${inst.name}\` nor a data field`, {
          notes: [
            {
              message: `losses can read the model's inputs, outputs and lets (${taps.join(', ')}), data fields (${DATA_FIELDS.join(', ')}), and \`teacher.NAME\` / \`base.NAME\``,
            },
          ],
          suggestion: didYouMean(name, scope.allNames()),
        });
        return true;
      };
      walkExpr(ctx, f.value, { scope, contexts: LOSS_CONTEXTS, userLayers: false, where: 'a loss', refHook: hook, onUndefined });
    }
    if (f.key === 'rounds') {
      // `weight = softmax(loss)` reads each batch's loss.
      const scope = lossScope(ctx, inst, ['loss']);
      checkValue(ctx, 'train', 'train.rounds', 'field `rounds`', 'expr', f.value, scope);
    }
  }
}

/** `[Small when t > 600, UNet]`: guarded models, then one unguarded fallback. */
function checkSwitch(ctx: CheckContext, field: Field): void {
  const v = field.value;
  if (v.kind !== 'list' || v.items.length === 0) {
    ctx.report('E0704', v.span, '`switch` must be a list of models: `[Small when t > 600, Big]`');
    return;
  }
  const tScope = new Scope(undefined);
  tScope.define('t', { kind: 'data' });
  v.items.forEach((item, k) => {
    const last = k === v.items.length - 1;
    let model: Expr = item;
    if (item.kind === 'binary' && item.op === 'when') {
      model = item.left;
      walkExpr(ctx, item.right, { scope: tScope, contexts: new Set(), userLayers: false, where: 'a switch condition' });
      if (last)
        ctx.report('E0704', item.span, 'the last `switch` entry must have no condition: it is the fallback', {
          suggestion: 'add an unguarded model at the end',
        });
    } else if (!last) {
      ctx.report('E0704', item.span, 'only the last `switch` entry may be unguarded; the entries after it never run', {
        suggestion: 'add `when …` or move it last',
      });
    }
    if (model.kind !== 'ref' || model.path.length !== 1 || model.path[0]?.kind !== 'name') {
      ctx.report('E0704', model.span, '`switch` entries must name models');
      return;
    }
    const seg = model.path[0];
    expectModel(ctx, { name: seg.name, span: seg.span }, 'a switch entry');
  });
}

/** `cache("up[1].res[0]", every = 3)`: the tap must be a module path or tap of the model. */
function checkCache(ctx: CheckContext, field: Field, inst: ModelInstance | undefined): void {
  const v = field.value;
  if (inst === undefined || v.kind !== 'call' || calleeName(v) !== 'cache') return;
  const tap = v.args.find((a) => a.name === 'tap') ?? v.args.find((a) => a.name === undefined);
  if (tap?.value.kind !== 'str') return;
  const want = normalizePath(tap.value.value);
  const mods = modulePaths(ctx, inst).map((m) => m.path);
  const taps = [...tapsOf(inst.decl).keys()];
  if (taps.includes(want) || mods.some((m) => m === want || m.startsWith(`${want}.`))) {
    if (taps.includes(want)) ctx.markBodyRead(inst.decl, want);
    return;
  }
  const near = nearestPattern(tap.value.value, [...mods, ...taps]);
  ctx.report('E0705', tap.value.span, `\`${inst.name}\` has no module or tap "${tap.value.value}" to cache`, {
    suggestion: near === undefined ? undefined : `did you mean "${near}"?`,
  });
}

export function checkSample(decl: SampleDecl, ctx: CheckContext): void {
  const inst = expectModel(ctx, decl.target, 'the sampled model', 'E0703');
  checkFields(ctx, decl, () => fieldScope(ctx, inst), new Set(['switch']));
  for (const f of decl.fields) {
    if (f.key === 'switch') checkSwitch(ctx, f);
    if (f.key === 'reuse') checkCache(ctx, f, inst);
  }
}
