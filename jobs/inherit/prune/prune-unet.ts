// The UNet parts of `prune`: `channels = …` (every channel space at one ratio, by whole GroupNorm
// groups: the family's base width and its group count shrink together, so channels per group stay)
// and `blocks = drop([…])` (residual units removed as identities, the rest renumbered).

import type { BindingDecl, Decl, Expr, Span } from '../../../grammar/ast.ts';
import { normalizePath } from '../../../grammar/check/patterns.ts';
import { identityResBlock } from '../layout/channels.ts';
import { inheritRule } from '../layout/layer-rules.ts';
import { InheritError, paramMap, type ModelLayout } from '../layout/layout.ts';
import { calleeName, constOf, FieldError } from '../spec/spec-fields.ts';

/** Conventional names of a UNet's base width. */
const BASE_NAMES = ['base', 'model_channels', 'base_channels', 'ch', 'width'];

/** The overrides that give a UNet `n` base channels: the base width and, scaled alike, the norm group count. */
export function channelOverrides(params: Readonly<Record<string, unknown>>, layout: ModelLayout, n: number, model: string, span: Span): Record<string, number> {
  const first = layout.modules.find((m) => m.kind === 'Conv2d');
  const from = first === undefined ? undefined : paramMap(layout).get(`${first.path}.weight`)?.shape[0];
  if (from === undefined) throw new FieldError(span, `prune: ${model} has no Conv2d, so it has no channels to prune`);
  const base = Object.entries(params)
    .filter(([, v]) => v === from)
    .map(([k]) => k);
  const name = base.find((k) => BASE_NAMES.includes(k)) ?? (base.length === 1 ? base[0] : undefined);
  if (name === undefined)
    throw new FieldError(span, `prune: no parameter of ${model} sets its base width (${from}); name it \`base\` so the pruned width can be set`);
  const out: Record<string, number> = { [name]: n };
  const norm = layout.modules.find((m) => typeof m.args['groups'] === 'number' && inheritRule(m.kind)?.normGroups === true);
  const groups = norm?.args['groups'];
  if (typeof groups === 'number' && typeof params['groups'] === 'number' && params['groups'] === groups) {
    const per = from / groups;
    if (n % per !== 0)
      throw new FieldError(
        span,
        `prune: ${n} channels are not whole GroupNorm groups of ${per} (${model} has ${groups} groups of ${from} base channels); pick a multiple of ${per}`,
      );
    out['groups'] = n / per;
  }
  return out;
}

/**
 * The block map of `blocks = drop([…])`: child path → parent path for every residual unit after a
 * dropped one in its stack (`down.1.res.2` → child `down.1.res.1`). Each dropped unit must be an
 * identity ResBlock (in == out channels), so removing it is the parent with that unit skipped.
 */
export function dropBlocks(value: Expr, lets: ReadonlyMap<string, BindingDecl>, parent: ModelLayout, model: string): Map<string, string> {
  const list = value.kind === 'call' && value.args.length === 1 ? value.args[0]!.value : undefined;
  const c = list === undefined ? undefined : constOf(list, lets);
  if (!Array.isArray(c) || !c.every((x) => typeof x === 'string') || calleeName(value) !== 'drop') {
    throw new FieldError(value.span, 'prune: blocks must be drop(["down[1].res[1]", …]), the residual units to remove');
  }
  const params = paramMap(parent);
  const problems: string[] = [];
  const byStack = new Map<string, Set<number>>();
  for (const raw of c as string[]) {
    const path = normalizePath(raw);
    const m = /^(.*)\.(\d+)$/.exec(path);
    const mod = parent.modules.find((x) => x.path === path);
    if (mod === undefined || m === null) {
      problems.push(`${model} has no residual unit '${raw}'`);
      continue;
    }
    if (!identityResBlock(parent, path, params)) {
      const shortcut = params.get(`${path}.conv_shortcut.weight`)?.shape;
      problems.push(
        mod.kind === 'ResBlock' && shortcut !== undefined
          ? `'${raw}' maps ${shortcut[1]} channels to ${shortcut[0]}, so it is not an identity and cannot be dropped (only ResBlocks whose in and out channels are equal can)`
          : `'${raw}' is a ${mod.kind}; only ResBlocks whose in and out channels are equal can be dropped`,
      );
      continue;
    }
    const stack = m[1] as string;
    byStack.set(stack, (byStack.get(stack) ?? new Set()).add(Number(m[2])));
  }
  if (problems.length > 0) throw new InheritError(problems.map((p) => `prune ${model}: ${p}`));
  const map = new Map<string, string>();
  for (const [stack, dropped] of byStack) {
    const ids = [
      ...new Set(
        parent.modules
          .map((x) => new RegExp(`^${stack.replace(/\./g, '\\.')}\\.(\\d+)$`).exec(x.path)?.[1])
          .filter((x) => x !== undefined)
          .map(Number),
      ),
    ].sort((a, b) => a - b);
    ids.filter((i) => !dropped.has(i)).forEach((i, j) => map.set(`${stack}.${j}`, `${stack}.${i}`));
  }
  return map;
}

/** Checks that `child` is `parent` with the dropped units removed (same layers, renumbered). */
export function checkDropped(parent: ModelLayout, child: ModelLayout, map: ReadonlyMap<string, string>, dropped: number, model: string, to: string): void {
  const toParent = (p: string): string => {
    for (const [c, q] of map) if (p === c || p.startsWith(`${c}.`)) return q + p.slice(c.length);
    return p;
  };
  const kinds = new Map(parent.modules.map((m) => [m.path, m.kind]));
  const wrong = child.modules.filter((m) => kinds.get(toParent(m.path)) !== m.kind).map((m) => `${m.path} (${m.kind})`);
  const expected = parent.modules.length - dropped;
  if (wrong.length > 0 || child.modules.length !== expected) {
    throw new InheritError([
      `prune ${model} to ${to}: ${to} must be ${model} with the dropped units removed and the rest renumbered (${expected} layers, it has ${child.modules.length}${wrong.length > 0 ? `; no parent layer for ${wrong.join(', ')}` : ''})`,
    ]);
  }
}

/** The declared model `name`, if the programs declare one. */
export function declaredModel(decls: readonly Decl[], name: string): boolean {
  return decls.some((d) => d.kind === 'model' && d.name.name === name);
}
