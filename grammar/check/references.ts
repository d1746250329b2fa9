// References from declarations to models, and the taps a model exposes to losses and caches.

import type { Ident, ModelDecl, Span, Stmt } from '../ast.ts';
import { didYouMean } from '../diagnostics/suggest.ts';
import { noteAt } from '../diagnostics/make.ts';
import { isModelSymbol, SYMBOL_WORD, type CheckContext } from './context.ts';
import { instantiate, type ModelInstance } from './models.ts';
import { Scope, type NameKind } from './scope.ts';

/**
 * The model an identifier names, or undefined after reporting E0307 (unknown) or `notModel`
 * (declared, but not a model: E0308 by default; train and sample targets have their own codes).
 */
export function expectModel(ctx: CheckContext, id: Ident, role: string, notModel: 'E0308' | 'E0701' | 'E0703' = 'E0308'): ModelInstance | undefined {
  const sym = ctx.symbols.get(id.name);
  if (sym === undefined) {
    ctx.report('E0307', id.span, `unknown model \`${id.name}\` (${role})`, { suggestion: didYouMean(id.name, ctx.modelNames()) });
    return undefined;
  }
  if (!isModelSymbol(sym)) {
    ctx.report(notModel, id.span, `\`${id.name}\` is ${SYMBOL_WORD[sym.kind]}, not a model (${role})`, {
      notes: [noteAt('declared here', sym.name.span)],
      suggestion: didYouMean(id.name, ctx.modelNames()),
    });
    return undefined;
  }
  return instantiate(ctx, id.name);
}

export interface Tap {
  kind: NameKind;
  span: Span;
}

/** Inputs, outputs and lets of a model body (including those inside repeats). */
export function tapsOf(decl: ModelDecl): Map<string, Tap> {
  const out = new Map<string, Tap>();
  const walk = (body: readonly Stmt[]): void => {
    for (const s of body) {
      if (s.kind === 'input' || s.kind === 'output' || s.kind === 'let') {
        if (!out.has(s.name.name)) out.set(s.name.name, { kind: s.kind === 'let' ? 'tap' : s.kind, span: s.name.span });
      } else if (s.kind === 'repeat') walk(s.body);
    }
  };
  walk(decl.body);
  return out;
}

/** The scope of top-level `let` bindings (reads are recorded for the unused-binding warning). */
export function bindingScope(ctx: CheckContext): Scope {
  const scope = new Scope(undefined, false, (name, info) => {
    if (info.kind === 'binding') ctx.bindingReads.add(name);
  });
  for (const s of ctx.symbols.values()) if (s.kind === 'binding') scope.define(s.name.name, { kind: 'binding', span: s.name.span });
  return scope;
}

/** Bindings plus a model's parameters as constants (`seq = ctx`). */
export function fieldScope(ctx: CheckContext, inst: ModelInstance | undefined): Scope {
  const scope = new Scope(bindingScope(ctx), false, (name) => {
    if (inst !== undefined) ctx.markBodyRead(inst.decl, name);
  });
  if (inst !== undefined) {
    for (const p of inst.decl.params) {
      const v = inst.env.get(p.name.name);
      scope.define(p.name.name, v === undefined ? { kind: 'param', span: p.name.span } : { kind: 'param', span: p.name.span, value: v });
    }
  }
  return scope;
}
