// A validated YAML document → the AST (grammar/ast.ts). The schema has already reported every
// structural problem, so this builds what it can and silently leaves out what it cannot; the only
// diagnostics added here are the expression parser's and those the schema cannot see (tensor
// types, argument lists, record keys).

import { isMap, isPair, isScalar, isSeq, type Node, type Pair, type YAMLMap } from 'yaml';
import type { Arg, ConfigDecl, Decl, DType, Field, Ident, Import, Param, Program, Stmt, TensorType } from '../ast.ts';
import { DTYPES } from '../ast.ts';
import { diag } from '../diagnostics/make.ts';
import { didYouMean } from '../diagnostics/suggest.ts';
import { CONFIG_FIELDS, type FieldSpec } from '../schema/fields.ts';
import { DECL_FORMS, MODELINE_PREFIX, declFormOf, isConfigKind, stmtFormOf } from './forms.ts';
import { deref, exprOf, identOf, parseText, scalarText, strListOf, strLitOf, type BuildCtx } from './values.ts';

/** The comment lines of a yaml comment string: one `#`-line each, minus one leading space. */
export function commentLines(...comments: (string | null | undefined)[]): string[] {
  const lines: string[] = [];
  for (const c of comments) {
    if (c === null || c === undefined) continue;
    for (const line of c.split('\n')) lines.push(line.startsWith(' ') ? line.slice(1) : line);
  }
  return lines;
}

/** Sets `leading`/`trailing` only when there are comments (exactOptionalPropertyTypes). */
function attach<T extends { leading?: string[]; trailing?: string }>(node: T, leading: string[], trailing: string[]): T {
  if (leading.length > 0) node.leading = leading;
  if (trailing.length > 0) node.trailing = trailing.join(' ');
  return node;
}

interface Entry {
  readonly key: string;
  readonly pair: Pair;
}

/** The string-keyed pairs of a map, in order. */
function entries(map: YAMLMap): Entry[] {
  const out: Entry[] = [];
  for (const pair of map.items) {
    if (isPair(pair) && isScalar(pair.key) && typeof pair.key.value === 'string') out.push({ key: pair.key.value, pair });
  }
  return out;
}

const get = (es: readonly Entry[], key: string): unknown => es.find((e) => e.key === key)?.pair.value;

export function buildProgram(ctx: BuildCtx): Program {
  const program: Program = { file: ctx.loc.file, imports: [], decls: [] };
  const root = deref(ctx.doc.contents, ctx);
  const trailing = commentLines(ctx.doc.comment);
  if (!isMap(root)) return program;
  const top = entries(root);
  // Comments above `scion:` are the file header, except the editor's schema modeline.
  const scionKey = top.find((e) => e.key === 'scion')?.pair.key as Node | undefined;
  const header = commentLines(ctx.doc.commentBefore, scionKey?.commentBefore).filter((l) => !l.startsWith(MODELINE_PREFIX));
  if (header.length > 0) program.header = header;
  const importsEntry = top.find((e) => e.key === 'imports');
  const imports = deref(importsEntry?.pair.value, ctx);
  if (isSeq(imports)) {
    imports.items.forEach((item, i) => {
      const path = strLitOf(item, ctx);
      if (path === undefined) return;
      const n = deref(item, ctx);
      const leading = commentLines(
        i === 0 ? (importsEntry?.pair.key as Node | undefined)?.commentBefore : null,
        i === 0 ? imports.commentBefore : null,
        n?.commentBefore,
      );
      program.imports.push(attach<Import>({ path, span: path.span }, leading, commentLines(n?.comment)));
    });
  }
  const declsEntry = top.find((e) => e.key === 'decls');
  const decls = deref(declsEntry?.pair.value, ctx);
  if (isSeq(decls)) {
    decls.items.forEach((item, i) => {
      const outer = i === 0 ? [(declsEntry?.pair.key as Node | undefined)?.commentBefore, decls.commentBefore] : [];
      const decl = buildDecl(item, outer, ctx);
      if (decl !== undefined) program.decls.push(decl);
    });
    trailing.unshift(...commentLines(decls.comment));
  }
  trailing.unshift(...commentLines(root.comment));
  if (trailing.length > 0) program.trailingComments = trailing;
  return program;
}

/** Leading and trailing comments of a list item whose first key is its tag. */
function itemComments(map: YAMLMap, es: readonly Entry[], outer: (string | null | undefined)[]): { leading: string[]; trailing: string[] } {
  const first = es[0]?.pair;
  const leading = commentLines(...outer, map.commentBefore, (first?.key as Node | undefined)?.commentBefore);
  const trailing = commentLines((first?.value as Node | null | undefined)?.comment ?? (map.flow === true ? map.comment : null));
  return { leading, trailing };
}

function buildDecl(item: unknown, outer: (string | null | undefined)[], ctx: BuildCtx): Decl | undefined {
  const map = deref(item, ctx);
  if (!isMap(map)) return undefined;
  const es = entries(map);
  const kind = declFormOf(es.map((e) => e.key));
  if (kind === undefined) return undefined;
  const span = ctx.loc.spanOf(map.range);
  const name = identOf(get(es, DECL_FORMS[kind].tag), ctx);
  if (name === undefined) return undefined;
  const { leading, trailing } = itemComments(map, es, outer);
  const decl = ((): Decl | undefined => {
    switch (kind) {
      case 'model': {
        const preset = identOf(get(es, 'preset'), ctx);
        const d: Decl = { kind: 'model', name, params: paramsOf(get(es, 'params'), ctx), body: bodyOf(get(es, 'body'), ctx), span };
        if (preset !== undefined) d.preset = preset;
        return d;
      }
      case 'derived': {
        const base = identOf(get(es, 'from'), ctx);
        return base && { kind: 'derived', name, base, args: argsOf(get(es, 'args'), ctx), span };
      }
      case 'layer':
        return { kind: 'layer', name, params: paramsOf(get(es, 'params'), ctx), body: bodyOf(get(es, 'body'), ctx), span };
      case 'binding': {
        const value = exprOf(get(es, 'value'), ctx);
        return value && { kind: 'binding', name, value, span };
      }
      default:
        return configDecl(kind, name, es, span, ctx);
    }
  })();
  return decl && attach(decl, leading, trailing);
}

function configDecl(kind: ConfigDecl['kind'], name: Ident, es: readonly Entry[], span: Decl['span'], ctx: BuildCtx): ConfigDecl | undefined {
  const fields = fieldsOf(kind, es, ctx);
  switch (kind) {
    case 'inherit': {
      const parent = identOf(get(es, 'from'), ctx);
      const at = strLitOf(get(es, 'at'), ctx);
      return parent && at && { kind, child: name, parent, at, fields, span };
    }
    case 'prune': {
      const to = identOf(get(es, 'to'), ctx);
      const d: ConfigDecl = { kind, model: name, fields, span };
      if (to !== undefined) d.to = to;
      return d;
    }
    case 'adapter': {
      const on = identOf(get(es, 'on'), ctx);
      return on && { kind, name, on, fields, span };
    }
    case 'train':
    case 'sample':
      return { kind, target: name, fields, span };
  }
}

/** The configuring fields of a declaration, in YAML order; structural keys are not fields. */
function fieldsOf(kind: ConfigDecl['kind'], es: readonly Entry[], ctx: BuildCtx): Field[] {
  const specs = CONFIG_FIELDS[kind] as Record<string, FieldSpec>;
  const fields: Field[] = [];
  for (const { key, pair } of es) {
    const spec = specs[key];
    if (spec === undefined || !isConfigKind(kind)) continue; // structural, or unknown: reported by the schema
    const value = spec.kind === 'string' ? strLitOf(pair.value, ctx) : spec.kind === 'strings' ? strListOf(pair.value, ctx) : exprOf(pair.value, ctx);
    if (value === undefined) continue;
    const keyNode = pair.key as Node;
    const keySpan = ctx.loc.spanOf(keyNode.range);
    const field: Field = { key, keySpan, value, span: ctx.loc.span(keySpan.start.offset, value.span.end.offset) };
    fields.push(attach(field, commentLines(keyNode.commentBefore), commentLines((pair.value as Node | null)?.comment)));
  }
  return fields;
}

/** `params: {vocab: 4096, x}` → parameters; a key without a value has no default. */
function paramsOf(node: unknown, ctx: BuildCtx): Param[] {
  const map = deref(node, ctx);
  if (!isMap(map)) return [];
  const params: Param[] = [];
  for (const { key, pair } of entries(map)) {
    const keySpan = ctx.loc.spanOf((pair.key as Node).range);
    const value = deref(pair.value, ctx);
    const isNull = value === undefined || (isScalar(value) && value.value === null);
    const p: Param = { name: { name: key, span: keySpan }, span: keySpan };
    if (!isNull) {
      const d = exprOf(value, ctx);
      if (d === undefined) continue;
      p.default = d;
      p.span = ctx.loc.span(keySpan.start.offset, d.span.end.offset);
    }
    params.push(p);
  }
  return params;
}

/** `args: {dim: 192}` (named) or `args: "2048, dim = 192"` (an argument list). */
function argsOf(node: unknown, ctx: BuildCtx): Arg[] {
  const n = deref(node, ctx);
  if (isMap(n)) {
    const args: Arg[] = [];
    for (const { key, pair } of entries(n)) {
      const value = exprOf(pair.value, ctx);
      if (value === undefined) continue;
      const nameSpan = ctx.loc.spanOf((pair.key as Node).range);
      args.push({ name: key, nameSpan, value, span: ctx.loc.span(nameSpan.start.offset, value.span.end.offset) });
    }
    return args;
  }
  if (!isScalar(n) || typeof n.value !== 'string') return [];
  const { text, locate } = scalarText(n, ctx);
  // Read as the argument list of a call: `F(` shifts every index by two.
  const call = parseText(`F(${text})`, (i) => locate(Math.max(0, i - 2)), ctx);
  if (call?.kind !== 'call') {
    if (call !== undefined)
      ctx.diags.push(diag('E0213', ctx.loc.spanOf(n.range), `\`args\` must hold an argument list such as \`2048, dim = 192\`, found \`${text}\``));
    return [];
  }
  return call.args;
}

function bodyOf(node: unknown, ctx: BuildCtx): Stmt[] {
  const seq = deref(node, ctx);
  if (!isSeq(seq)) return [];
  const body: Stmt[] = [];
  seq.items.forEach((item, i) => {
    const stmt = buildStmt(item, i === 0 ? [seq.commentBefore] : [], ctx);
    if (stmt !== undefined) body.push(stmt);
  });
  return body;
}

function buildStmt(item: unknown, outer: (string | null | undefined)[], ctx: BuildCtx): Stmt | undefined {
  const map = deref(item, ctx);
  if (!isMap(map)) return undefined;
  const es = entries(map);
  const kind = stmtFormOf(es.map((e) => e.key));
  if (kind === undefined) return undefined;
  const span = ctx.loc.spanOf(map.range);
  const { leading, trailing } = itemComments(map, es, outer);
  const tag = get(es, kind);
  const stmt = ((): Stmt | undefined => {
    switch (kind) {
      case 'require': {
        const cond = exprOf(tag, ctx);
        const message = strLitOf(get(es, 'message'), ctx);
        if (cond === undefined) return undefined;
        return message === undefined ? { kind, cond, span } : { kind, cond, message, span };
      }
      case 'return': {
        const value = exprOf(tag, ctx);
        return value && { kind, value, span };
      }
      default:
        break;
    }
    const name = identOf(tag, ctx);
    if (name === undefined) return undefined;
    switch (kind) {
      case 'input': {
        const type = tensorTypeOf(get(es, 'type'), ctx);
        return type && { kind, name, type, span };
      }
      case 'let':
      case 'output': {
        const value = exprOf(get(es, 'value'), ctx);
        return value && { kind, name, value, span };
      }
      case 'repeat': {
        const range = exprOf(get(es, 'in'), ctx);
        return range && { kind, var: name, range, body: bodyOf(get(es, 'body'), ctx), span };
      }
      case 'param': {
        const type = tensorTypeOf(get(es, 'type'), ctx);
        if (type === undefined) return undefined;
        const initNode = get(es, 'init');
        if (initNode === undefined) return { kind, name, type, span };
        const init = exprOf(initNode, ctx);
        return init && { kind, name, type, init, span };
      }
    }
  })();
  return stmt && attach(stmt, leading, trailing);
}

/** `i32[batch, ctx]` → a tensor type; the shape is read as an expression list. */
function tensorTypeOf(node: unknown, ctx: BuildCtx): TensorType | undefined {
  const n = deref(node, ctx);
  if (!isScalar(n) || typeof n.value !== 'string') return undefined;
  const { text, locate } = scalarText(n, ctx);
  const span = ctx.loc.spanOf(n.range);
  const m = /^(\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*)(\[[\s\S]*)?$/.exec(text);
  if (!m) {
    ctx.diags.push(diag('E0212', span, `expected a tensor type such as \`i32[batch, ctx]\`, found \`${text}\``));
    return undefined;
  }
  const dtype = m[2]!;
  const dtypeAt = m[1]!.length;
  const dtypeSpan = ctx.loc.span(locate(dtypeAt).offset, locate(dtypeAt + dtype.length).offset);
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    ctx.diags.push(diag('E0502', dtypeSpan, `unknown dtype \`${dtype}\`; expected one of ${DTYPES.join(', ')}`, { suggestion: didYouMean(dtype, DTYPES) }));
    return undefined;
  }
  const shapeText = m[4];
  if (shapeText === undefined) return { kind: 'ttype', dtype: dtype as DType, dtypeSpan, shape: [], span };
  const shapeAt = dtypeAt + dtype.length + m[3]!.length;
  const shape = parseText(shapeText, (i) => locate(shapeAt + i), ctx);
  if (shape === undefined) return undefined;
  if (shape.kind !== 'list') {
    ctx.diags.push(diag('E0212', span, `expected a tensor type such as \`i32[batch, ctx]\`, found \`${text}\``));
    return undefined;
  }
  return { kind: 'ttype', dtype: dtype as DType, dtypeSpan, shape: shape.items, span };
}
