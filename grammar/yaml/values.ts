// YAML values → AST expressions. Numbers and strings are read by the .scion expression parser
// (numbers from their source text, so `3e-4` and `2k` keep their spelling), booleans become
// literals, maps records and lists lists. Expression spans point into the YAML file.

import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import type { Expr, Ident, List, Pos, RecordField, StrLit } from '../ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { diag } from '../diagnostics/make.ts';
import { parseExpr } from '../dsl/parse.ts';
import { YAML_LIMITS } from './limits.ts';
import type { Locator } from './positions.ts';
import { found } from './validate.ts';

export interface BuildCtx {
  readonly doc: Document;
  readonly loc: Locator;
  readonly diags: Diagnostic[];
  /** Nodes left to visit: bounds the work however aliases are arranged. */
  budget: number;
}

/** Follows an alias to its anchor; spends budget so alias chains cannot multiply work. */
export function deref(node: unknown, ctx: BuildCtx): Scalar | YAMLMap | YAMLSeq | undefined {
  if (ctx.budget-- <= 0) {
    if (ctx.budget === -1)
      ctx.diags.push(
        diag('E0204', ctx.loc.span(0, 0), `the document has, or its aliases expand to, more than ${YAML_LIMITS.maxNodes} values; a spec never needs that many`),
      );
    return undefined;
  }
  if (isAlias(node)) return node.resolve(ctx.doc);
  return isScalar(node) || isMap(node) || isSeq(node) ? node : undefined;
}

/** A plain name (the value of a tag key such as `model:` or `let:`). */
export function identOf(node: unknown, ctx: BuildCtx): Ident | undefined {
  const n = deref(node, ctx);
  if (!isScalar(n) || typeof n.value !== 'string') return undefined;
  return { name: n.value, span: ctx.loc.spanOf(n.range) };
}

/** A plain string as a string literal (paths, messages). */
export function strLitOf(node: unknown, ctx: BuildCtx): StrLit | undefined {
  const n = deref(node, ctx);
  if (!isScalar(n) || typeof n.value !== 'string') return undefined;
  return { kind: 'str', value: n.value, span: ctx.loc.spanOf(n.range) };
}

/** A list of plain strings as a list of string literals (name patterns). */
export function strListOf(node: unknown, ctx: BuildCtx): List | undefined {
  const n = deref(node, ctx);
  if (!isSeq(n)) return undefined;
  const items: Expr[] = [];
  for (const item of n.items) {
    const s = strLitOf(item, ctx);
    if (s === undefined) return undefined;
    items.push(s);
  }
  return { kind: 'list', items, span: ctx.loc.spanOf(n.range) };
}

/** Parses expression text found in the YAML; `locate` maps its indices into the file. */
export function parseText(text: string, locate: (index: number) => Pos, ctx: BuildCtx): Expr | undefined {
  const { expr, diagnostics } = parseExpr(text, ctx.loc.file, locate);
  ctx.diags.push(...diagnostics);
  return expr;
}

/** The text and position map of a string scalar holding an expression. */
export function scalarText(node: Scalar, ctx: BuildCtx): { text: string; locate: (index: number) => Pos } {
  const range = node.range;
  if (typeof node.value === 'number' && range) {
    // The number's own spelling, not its value: `1.0` stays `1.0`, `3e-4` stays `3e-4`.
    const start = range[0];
    return { text: ctx.loc.text.slice(start, range[1]), locate: (i) => ctx.loc.pos(start + i) };
  }
  const text = String(node.value);
  return { text, locate: ctx.loc.valueLocator(node, text) };
}

/** Any expression value: a number, boolean, expression string, list or map. */
export function exprOf(node: unknown, ctx: BuildCtx, depth = 0): Expr | undefined {
  const n = deref(node, ctx);
  if (n === undefined || depth > YAML_LIMITS.maxDepth) return undefined;
  const span = ctx.loc.spanOf(n.range);
  if (isScalar(n)) {
    if (typeof n.value === 'boolean') return { kind: 'bool', value: n.value, span };
    if (typeof n.value !== 'number' && typeof n.value !== 'string') return undefined; // null: the schema reported it
    const { text, locate } = scalarText(n, ctx);
    if (text.trim() === '') {
      ctx.diags.push(diag('E0208', span, 'expected an expression, found an empty string'));
      return undefined;
    }
    return parseText(text, locate, ctx);
  }
  if (isSeq(n)) {
    const items: Expr[] = [];
    for (const item of n.items) {
      const e = exprOf(item, ctx, depth + 1);
      if (e === undefined) return undefined;
      items.push(e);
    }
    return { kind: 'list', items, span };
  }
  const fields: RecordField[] = [];
  for (const pair of n.items) {
    if (!isPair(pair)) return undefined;
    const key = deref(pair.key, ctx);
    if (ctx.budget < 0) return undefined; // out of budget: E0204 said so, the rest is unread
    if (!isScalar(key) || (typeof key.value !== 'string' && typeof key.value !== 'number')) {
      ctx.diags.push(
        diag('E0208', ctx.loc.spanOf((key as Node | undefined)?.range ?? n.range), `a record key must be a name or a string, found ${found(key)}`),
      );
      return undefined;
    }
    const value = exprOf(pair.value, ctx, depth + 1);
    if (value === undefined) return undefined;
    const keySpan = ctx.loc.spanOf(key.range);
    fields.push({ key: String(key.value), keySpan, value, span: ctx.loc.span(keySpan.start.offset, value.span.end.offset) });
  }
  return { kind: 'record', fields, span };
}
