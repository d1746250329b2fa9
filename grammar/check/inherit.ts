// inherit, prune and adapter: the models they name, path patterns that must match parameters,
// and layer selections that must fit the parent's and the child's depths.

import type { AdapterDecl, Expr, Field, InheritDecl, PruneDecl } from '../ast.ts';
import type { CheckContext } from './context.ts';
import { checkFields } from './config.ts';
import { describeValue, evalConst } from './eval.ts';
import { calleeName } from './exprs.ts';
import { lookup } from '../library/signatures.ts';
import type { ModelInstance } from './models.ts';
import { modulePaths, tensorPaths } from './paths.ts';
import { matchesPath, nearestPattern, normalizePath, patternProblem } from './patterns.ts';
import { expectModel, fieldScope } from './references.ts';

const fieldOf = (fields: readonly Field[], key: string): Field | undefined => fields.find((f) => f.key === key);

/** Each string of a pattern list must be well formed and match a parameter of `inst`. */
function checkPatterns(ctx: CheckContext, field: Field | undefined, inst: ModelInstance | undefined, paths: () => string[], what: string): void {
  if (field === undefined || field.value.kind !== 'list' || inst === undefined) return;
  for (const item of field.value.items) {
    if (item.kind !== 'str') continue; // E0411, reported by the field check
    const problem = patternProblem(item.value);
    if (problem !== undefined) {
      ctx.report('E0604', item.span, `malformed pattern "${item.value}": ${problem}`);
      continue;
    }
    const all = paths();
    if (all.length === 0 || all.some((p) => matchesPath(item.value, p))) continue;
    const near = nearestPattern(item.value, all);
    ctx.report('E0603', item.span, `${what} pattern "${item.value}" matches no parameter of \`${inst.name}\``, {
      notes: [
        {
          message: `\`*\` matches one path segment or part of one; \`${inst.name}\` has ${all.length} parameter tensors, e.g. ${all
            .slice(0, 2)
            .map((p) => `\`${p}\``)
            .join(', ')}`,
        },
      ],
      suggestion: near === undefined ? undefined : `did you mean "${near}"?`,
    });
  }
}

/** A model's depth: its `depth` parameter when it has one. */
function depthOf(inst: ModelInstance | undefined): number | undefined {
  const d = inst?.env.get('depth');
  return typeof d === 'number' && Number.isInteger(d) ? d : undefined;
}

function intArg(e: Expr, names: readonly string[], name: string, dflt: number): number | undefined {
  if (e.kind !== 'call') return undefined;
  const positional = e.args.filter((a) => a.name === undefined);
  const arg = e.args.find((a) => a.name === name) ?? positional[names.indexOf(name)];
  if (arg === undefined) return dflt;
  const r = evalConst(arg.value, new Map());
  return r.ok && typeof r.value === 'number' ? r.value : undefined;
}

function checkLayerSelection(ctx: CheckContext, field: Field | undefined, child: ModelInstance | undefined, parent: ModelInstance | undefined): void {
  if (field === undefined) return;
  const pd = depthOf(parent);
  const cd = depthOf(child);
  const v = field.value;
  if (v.kind === 'list') {
    const seen = new Map<number, Expr>();
    for (const item of v.items) {
      const r = evalConst(item, new Map());
      if (!r.ok) continue;
      if (typeof r.value !== 'number' || !Number.isInteger(r.value)) {
        ctx.report('E0605', item.span, `a layer index must be an integer, found ${describeValue(r.value)}`);
        continue;
      }
      if (pd !== undefined && (r.value < 0 || r.value >= pd)) {
        ctx.report('E0605', item.span, `layer ${r.value} is out of range: \`${parent!.name}\` has layers 0..${pd - 1}`);
      } else if (seen.has(r.value)) {
        ctx.report('E0605', item.span, `layer ${r.value} is listed twice`);
      }
      seen.set(r.value, item);
    }
    // A list says which layers stay; the child keeps them in the parent's order.
    const nums = [...seen.keys()];
    const at = nums.findIndex((x, i) => i > 0 && x < (nums[i - 1] as number));
    if (at > 0 && nums.length === v.items.length)
      ctx.report('E0605', seen.get(nums[at]!)!.span, `layer ${nums[at]} is listed after layer ${nums[at - 1]}: kept layers must be in ascending order`, {
        suggestion: `write [${[...nums].sort((x, y) => x - y).join(', ')}]`,
      });
    if (cd !== undefined && v.items.length !== cd) {
      ctx.report('E0605', v.span, `${v.items.length} layers are kept but \`${child!.name}\` has depth ${cd}`, {
        suggestion: `list exactly ${cd} layer indices`,
      });
    }
    return;
  }
  if (v.kind === 'call' && calleeName(v) === 'keep_ends') {
    const first = intArg(v, ['first', 'last'], 'first', 1);
    const last = intArg(v, ['first', 'last'], 'last', 1);
    if (first === undefined || last === undefined || cd === undefined) return;
    if (first + last > cd) {
      ctx.report('E0606', v.span, `keep_ends keeps first + last = ${first + last} layers, more than \`${child!.name}\`'s depth ${cd}`);
    } else if (pd !== undefined && cd > pd) {
      ctx.report('E0606', v.span, `\`${child!.name}\` has depth ${cd}, more than \`${parent!.name}\`'s ${pd}; inheritance can only drop layers`);
    }
  }
}

/** Unit fields whose value is a selection rule (the child's size comes from the child model). */
const UNIT_FIELDS = ['dim', 'heads', 'ffn', 'channels'];

/**
 * Arguments that do not apply in an inherit declaration are errors, not ignored: a metric's
 * `ratio` and `size` set a target in `prune`, but an inherited child's sizes are its model's; an
 * index list must be ascending; `init` needs tensors that `except` initializes.
 */
function checkInapplicable(ctx: CheckContext, decl: InheritDecl): void {
  for (const f of decl.fields) {
    if (!UNIT_FIELDS.includes(f.key)) continue;
    const v = f.value;
    if (v.kind === 'list') {
      const nums = v.items.map((x) => evalConst(x, new Map())).map((r) => (r.ok && typeof r.value === 'number' ? r.value : undefined));
      const at = nums.findIndex((x, i) => i > 0 && x !== undefined && nums.slice(0, i).some((y) => y !== undefined && y > x));
      if (at > 0 && nums.every((x) => x !== undefined))
        ctx.report(
          'E0612',
          v.items[at]!.span,
          `\`${f.key}\` lists ${nums[at]} after ${Math.max(...(nums.slice(0, at) as number[]))}: kept indices must be in ascending order`,
          {
            notes: [{ message: "a list names which parent units stay; the child keeps them in the parent's order (query heads with the KV heads they read)" }],
            suggestion: `write [${[...(nums as number[])].sort((a, b) => a - b).join(', ')}]`,
          },
        );
      continue;
    }
    if (v.kind !== 'call') continue;
    const name = calleeName(v);
    const sig = name === undefined ? undefined : lookup(name);
    if (sig === undefined || sig.context !== 'select') continue;
    const positional = v.args.filter((a) => a.name === undefined);
    for (const a of v.args) {
      const argName = a.name ?? sig.args[positional.indexOf(a)]?.name;
      if (argName !== 'ratio' && argName !== 'size') continue;
      ctx.report('E0611', a.value.span, `\`${argName}\` does not apply in inherit: the child's ${f.key} is the size \`${decl.child.name}\` declares`, {
        suggestion: `write \`${f.key} = ${name}${v.args.length > 1 ? '(…)' : ''}\` without ${argName}; to shrink a model by a ratio or to a size, use \`prune\``,
      });
    }
  }
  const init = fieldOf(decl.fields, 'init');
  if (init !== undefined && fieldOf(decl.fields, 'except') === undefined)
    ctx.report('E0611', init.value.span, '`init` does not apply: every tensor of the child is inherited, so nothing is initialized', {
      suggestion: 'list the tensors to initialize in `except`, or remove `init`',
    });
}

export function checkInherit(decl: InheritDecl, ctx: CheckContext): void {
  const child = expectModel(ctx, decl.child, 'the inheriting child');
  const parent = expectModel(ctx, decl.parent, 'the parent');
  if (decl.child.name === decl.parent.name) {
    ctx.report('E0607', decl.parent.span, `\`${decl.child.name}\` cannot inherit from itself`, {
      suggestion: 'name the parent model whose checkpoint is read',
    });
  }
  if (decl.at.value.trim() === '')
    ctx.report('E0602', decl.at.span, 'the checkpoint path after `at` is empty', {
      suggestion: 'write the parent\'s checkpoint, e.g. `at "runs/parent/model.safetensors"`',
    });
  checkFields(ctx, decl, () => fieldScope(ctx, child));
  checkPatterns(ctx, fieldOf(decl.fields, 'except'), child, () => (child ? tensorPaths(ctx, child) : []), '`except`');
  checkLayerSelection(ctx, fieldOf(decl.fields, 'layers'), child, parent);
  checkInapplicable(ctx, decl);
}

export function checkPrune(decl: PruneDecl, ctx: CheckContext): void {
  const model = expectModel(ctx, decl.model, 'the model to prune');
  checkFields(ctx, decl, () => fieldScope(ctx, model));
  // `blocks = drop(["down[1].res[1]", …])`: each unit must be a module of the model.
  const blocks = fieldOf(decl.fields, 'blocks');
  if (model !== undefined && blocks?.value.kind === 'call' && calleeName(blocks.value) === 'drop') {
    const list = blocks.value.args[0]?.value;
    if (list?.kind === 'list') {
      const mods = modulePaths(ctx, model).map((m) => m.path);
      for (const item of list.items) {
        if (item.kind !== 'str') continue;
        const unit = normalizePath(item.value);
        if (mods.some((m) => m === unit || m.startsWith(`${unit}.`))) continue;
        const near = nearestPattern(item.value, mods);
        ctx.report('E0603', item.span, `unit "${item.value}" matches no module of \`${model.name}\``, {
          suggestion: near === undefined ? undefined : `did you mean "${near}"?`,
        });
      }
    }
  }
}

export function checkAdapter(decl: AdapterDecl, ctx: CheckContext): void {
  const on = expectModel(ctx, decl.on, 'the adapted model');
  checkFields(ctx, decl, () => fieldScope(ctx, on));
  checkPatterns(ctx, fieldOf(decl.fields, 'targets'), on, () => (on ? tensorPaths(ctx, on) : []), 'adapter target');
}
