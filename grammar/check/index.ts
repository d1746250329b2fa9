// The checks, as a table keyed by declaration kind (Chevrotain/Langium style): each entry is a
// small function (decl, ctx) => void that adds diagnostics. Program-wide checks run before
// (symbols) and after (unused names, targets). Checks never throw on any AST the front ends
// produce, even a partial one after error recovery.

import type { Decl } from '../ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import type { Context } from '../library/signatures.ts';
import { checkLayerBody, checkModelBody } from './bodies.ts';
import { CheckContext } from './context.ts';
import { walkExpr } from './exprs.ts';
import { checkAdapter, checkInherit, checkPrune } from './inherit.ts';
import { evaluateInstance } from './instances.ts';
import { checkDerived, checkModelParams, instantiate } from './models.ts';
import { modulePaths } from './paths.ts';
import { buildSymbols, checkCycles, checkTargets, checkUnused } from './program.ts';
import { bindingScope, expectModel } from './references.ts';
import { checkSample, checkTrain } from './train.ts';

export type DeclCheck<D extends Decl> = (decl: D, ctx: CheckContext) => void;
export type DeclChecks = { readonly [K in Decl['kind']]: readonly DeclCheck<Extract<Decl, { kind: K }>>[] };

/** Contexts a top-level `let` value may use: anything but tensor code. */
const BINDING_CONTEXTS: ReadonlySet<Context> = new Set(['data', 'select', 'optimizer', 'schedule', 'sampler', 'reuse', 'init', 'round']);

const PRESET_NAMES = ['llama', 'gpt2', 'dit', 'unet'] as const;

export const DECL_CHECKS: DeclChecks = {
  model: [
    checkModelParams,
    checkModelBody,
    (d, ctx) => {
      if (d.preset !== undefined && !(PRESET_NAMES as readonly string[]).includes(d.preset.name)) {
        const near = PRESET_NAMES.find((p) => p.startsWith(d.preset!.name.slice(0, 2)));
        ctx.report('E0601', d.preset.span, `unknown preset \`${d.preset.name}\``, {
          notes: [{ message: `presets: ${PRESET_NAMES.join(', ')}` }],
          suggestion: near ? `did you mean \`${near}\`?` : undefined,
        });
      }
    },
    (d, ctx) => {
      const inst = ctx.symbols.get(d.name.name)?.decl === d ? instantiate(ctx, d.name.name) : undefined;
      if (inst !== undefined) {
        evaluateInstance(ctx, inst);
        modulePaths(ctx, inst);
      }
    },
  ],
  derived: [
    (d, ctx) => {
      const base = expectModel(ctx, d.base, 'the base of a derived model');
      if (base === undefined) return;
      checkDerived(d, ctx);
      const inst = instantiate(ctx, d.name.name);
      if (inst !== undefined && ctx.symbols.get(d.name.name)?.decl === d) {
        evaluateInstance(ctx, inst);
        modulePaths(ctx, inst);
      }
    },
  ],
  layer: [checkLayerBody],
  binding: [
    (d, ctx) =>
      walkExpr(ctx, d.value, { scope: bindingScope(ctx), contexts: BINDING_CONTEXTS, userLayers: false, where: 'a `let` binding', bareCallables: true }),
  ],
  inherit: [checkInherit],
  prune: [checkPrune],
  adapter: [checkAdapter],
  train: [checkTrain],
  sample: [checkSample],
};

/**
 * EXTENSION POINT for later stages (the compiler's shape inference): a check over the whole
 * program that runs after the built-in ones and adds diagnostics through ctx.report/ctx.add.
 */
export type ExtraCheck = (decls: readonly Decl[], ctx: CheckContext) => void;

export interface CheckOptions {
  extraChecks?: readonly ExtraCheck[];
}

/**
 * Runs every check over the merged declarations of a program (all imported files).
 *
 * @example checkDecls(program.decls).filter((d) => d.severity === 'error')
 */
export function checkDecls(decls: readonly Decl[], opts: CheckOptions = {}): Diagnostic[] {
  const ctx = new CheckContext(decls);
  buildSymbols(ctx);
  checkCycles(ctx);
  for (const d of decls) {
    const checks = DECL_CHECKS[d.kind] as readonly DeclCheck<Decl>[];
    for (const check of checks) check(d, ctx);
  }
  checkTargets(ctx);
  checkUnused(ctx);
  for (const extra of opts.extraChecks ?? []) extra(decls, ctx);
  return ctx.diagnostics;
}

export { CheckContext } from './context.ts';
