// Where each name is declared and used, over a checked program and the files it imports: the
// index behind go to definition, find references, rename and hover. It follows the language's
// scoping as the checker does (grammar/check/scope.ts): inside a model or layer body a name is
// first a parameter, input, let, output or repeat variable of that body, then a top-level model,
// layer or `let`; a callee nobody declares is a library entry (grammar/library/signatures.ts).

import type { Decl, Expr, Ident, LayerDecl, ModelDecl, Program, Span, Stmt } from '../grammar/ast.ts';
import { lookup } from '../grammar/library/signatures.ts';

/** What a name denotes. `local` symbols belong to one model or layer body. */
export type SymbolKind = 'model' | 'binding' | 'layer' | 'local' | 'library' | 'field';

export interface Occurrence {
  /** The symbol's key: `model:Llama`, `binding:calib`, `local:<file>#Llama:dim`, `library:Linear`, `field:train:steps`. */
  key: string;
  kind: SymbolKind;
  name: string;
  span: Span;
  def: boolean;
}

export interface SymbolIndex {
  occurrences: Occurrence[];
  /** The declaring occurrence of each key (the first one, for a rebound local). */
  defs: Map<string, Occurrence>;
}

const TOP: Record<string, SymbolKind> = { model: 'model', derived: 'model', binding: 'binding', layer: 'layer' };

export function indexSymbols(programs: readonly Program[]): SymbolIndex {
  const top = new Map<string, SymbolKind>();
  for (const p of programs) for (const d of p.decls) if (d.kind in TOP && 'name' in d) top.set((d.name as Ident).name, TOP[d.kind]!);
  const occurrences: Occurrence[] = [];
  const add = (key: string, kind: SymbolKind, id: { name: string; span: Span }, def = false): void => {
    occurrences.push({ key, kind, name: id.name, span: id.span, def });
  };
  const global = (name: string): { key: string; kind: SymbolKind } | undefined => {
    const kind = top.get(name);
    if (kind !== undefined) return { key: `${kind}:${name}`, kind };
    return lookup(name) === undefined ? undefined : { key: `library:${name}`, kind: 'library' };
  };
  const refTo = (id: { name: string; span: Span }, locals?: Map<string, string>): void => {
    const local = locals?.get(id.name);
    if (local !== undefined) return add(local, 'local', id);
    const g = global(id.name);
    if (g !== undefined) add(g.key, g.kind, id);
  };

  const expr = (e: Expr, locals?: Map<string, string>): void => {
    switch (e.kind) {
      case 'num':
      case 'str':
      case 'bool':
        return;
      case 'ref': {
        const [first, ...rest] = e.path;
        if (first?.kind === 'name') refTo(first, locals);
        for (const s of rest) if (s.kind === 'index') expr(s.index, locals);
        return;
      }
      case 'call':
        expr(e.callee, locals);
        for (const a of e.args) expr(a.value, locals);
        return;
      case 'binary':
        expr(e.left, locals);
        expr(e.right, locals);
        return;
      case 'unary':
        return expr(e.arg, locals);
      case 'tuple':
      case 'list':
        for (const x of e.items) expr(x, locals);
        return;
      case 'range':
        expr(e.start, locals);
        expr(e.end, locals);
        return;
      case 'record':
        for (const f of e.fields) expr(f.value, locals);
        return;
      case 'named':
        // `as layers[i].mlp` names parameters; only its index expressions read names.
        expr(e.value, locals);
        for (const s of e.path.path) if (s.kind === 'index') expr(s.index, locals);
        return;
      case 'frozen':
        return expr(e.model, locals);
    }
  };

  const body = (d: ModelDecl | LayerDecl, file: string): void => {
    const locals = new Map<string, string>();
    const define = (id: Ident): void => {
      const key = locals.get(id.name) ?? `local:${file}#${d.name.name}:${id.name}`;
      locals.set(id.name, key);
      add(key, 'local', id, true);
    };
    for (const p of d.params) {
      if (p.default !== undefined) expr(p.default, locals);
      define(p.name);
    }
    const stmts = (list: readonly Stmt[]): void => {
      for (const s of list) {
        switch (s.kind) {
          case 'input':
            for (const x of s.type.shape) expr(x, locals);
            define(s.name);
            break;
          case 'param':
            for (const x of s.type.shape) expr(x, locals);
            if (s.init !== undefined) expr(s.init, locals);
            define(s.name);
            break;
          case 'let':
          case 'output':
            // The value reads the previous binding of a rebound name (`m = f(m)`).
            expr(s.value, locals);
            define(s.name);
            break;
          case 'repeat':
            expr(s.range, locals);
            define(s.var);
            stmts(s.body);
            break;
          case 'require':
            expr(s.cond, locals);
            break;
          case 'return':
            expr(s.value, locals);
            break;
        }
      }
    };
    stmts(d.body);
  };

  const decl = (d: Decl, file: string): void => {
    switch (d.kind) {
      case 'model':
        add(`model:${d.name.name}`, 'model', d.name, true);
        return body(d, file);
      case 'layer':
        add(`layer:${d.name.name}`, 'layer', d.name, true);
        return body(d, file);
      case 'derived':
        add(`model:${d.name.name}`, 'model', d.name, true);
        refTo(d.base);
        for (const a of d.args) expr(a.value);
        return;
      case 'binding':
        add(`binding:${d.name.name}`, 'binding', d.name, true);
        return expr(d.value);
      default: {
        const models =
          d.kind === 'inherit' ? [d.child, d.parent] : d.kind === 'prune' ? [d.model, ...(d.to ? [d.to] : [])] : d.kind === 'adapter' ? [d.on] : [d.target];
        for (const m of models) refTo(m);
        for (const f of d.fields) {
          add(`field:${d.kind}:${f.key}`, 'field', { name: f.key, span: f.keySpan });
          expr(f.value);
        }
      }
    }
  };

  for (const p of programs) for (const d of p.decls) decl(d, p.file);
  const defs = new Map<string, Occurrence>();
  for (const o of occurrences) if (o.def && !defs.has(o.key)) defs.set(o.key, o);
  return { occurrences, defs };
}

/** The occurrence under a 0-based offset of `file` (end inclusive: the cursor just after a name). */
export function occurrenceAt(index: SymbolIndex, file: string, offset: number): Occurrence | undefined {
  return index.occurrences.find((o) => o.span.file === file && o.span.start.offset <= offset && offset <= o.span.end.offset);
}

/** Every occurrence of the symbol with this key, its declaration first. */
export function occurrencesOf(index: SymbolIndex, key: string): Occurrence[] {
  return index.occurrences.filter((o) => o.key === key).sort((a, b) => Number(b.def) - Number(a.def));
}
