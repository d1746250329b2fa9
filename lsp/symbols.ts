// Where each name is declared and used, over a checked program and the files it imports: the
// index behind go to definition, find references, rename and hover. It follows the language's
// scoping as the checker does (grammar/check/scope.ts): inside a model or layer body a name is
// first a parameter, input, let, output or repeat variable of that body, then a top-level model,
// layer or `let`; a callee nobody declares is a library entry (grammar/library/signatures.ts).
//
// Layer paths too: an `as` name in a model body (`as layers[i].self_attn`) declares a path, and a
// string naming parameters in another declaration (an inherit's `except`, an adapter's `targets`,
// a prune's blocks, a sample's `cache(…)`) refers to the `as` paths of that declaration's models it
// reaches, read by the checker's own pattern rule (grammar/check/patterns.ts): the deepest matching
// path of each model. `as` names inside user `layer` bodies (relative to their call) are not indexed.

import type { Decl, Expr, Ident, LayerDecl, ModelDecl, Program, Ref, Span, Stmt } from '../grammar/ast.ts';
import { matchesPath, normalizePath, patternProblem } from '../grammar/check/patterns.ts';
import { lookup } from '../grammar/library/signatures.ts';

/** What a name denotes. `local` symbols belong to one model or layer body; `path` is an `as` path of a model. */
export type SymbolKind = 'model' | 'binding' | 'layer' | 'local' | 'library' | 'field' | 'path';

export interface Occurrence {
  /** The symbol's key: `model:Llama`, `binding:calib`, `local:<file>#Llama:dim`, `library:Linear`, `field:train:steps`, `path:Llama:layers.*.mlp`. */
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

/** An `as` path's segments: names, literal indices, and `null` for an index the body computes (`[i]`). */
function pathSegments(r: Ref): (string | null)[] {
  return r.path.map((seg) => (seg.kind === 'name' ? seg.name : seg.index.kind === 'num' ? String(seg.index.value) : null));
}

/**
 * How many leading segments of `pattern` match the `as` path, when they all do over the shorter
 * of the two (the pattern names the path's module, one around it, or one inside it); 0 when not.
 * A computed index stands for any integer: a pattern segment matches it when it matches `0`.
 */
function pathMatch(pattern: string, segs: readonly (string | null)[]): number {
  const ps = normalizePath(pattern).split('.');
  const n = Math.min(ps.length, segs.length);
  for (let k = 0; k < n; k++) {
    const seg = segs[k] as string | null;
    const p = ps[k] as string;
    if (seg === null ? !(/^\d+$/.test(p) || matchesPath(p, '0')) : !matchesPath(p, seg)) return 0;
  }
  return n;
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
  // `as` paths by the model whose body declares them; strings to link once every body is read.
  const pathDefs = new Map<string, { segs: (string | null)[]; key: string }[]>();
  const pathStrings: { value: string; span: Span; models: string[] }[] = [];
  let bodyModel: string | undefined;
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
      case 'named': {
        // `as layers[i].mlp` names parameters; only its index expressions read names.
        expr(e.value, locals);
        for (const s of e.path.path) if (s.kind === 'index') expr(s.index, locals);
        if (bodyModel === undefined) return;
        // After the index reads, so that a cursor on `i` finds the repeat variable first.
        const segs = pathSegments(e.path);
        const name = segs.map((x) => x ?? '*').join('.');
        const key = `path:${bodyModel}:${name}`;
        const defs = pathDefs.get(bodyModel) ?? [];
        if (!defs.some((d) => d.key === key)) defs.push({ segs, key });
        pathDefs.set(bodyModel, defs);
        occurrences.push({ key, kind: 'path', name, span: e.path.span, def: true });
        return;
      }
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
        bodyModel = d.name.name;
        body(d, file);
        bodyModel = undefined;
        return;
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
          strings(f.value, (value, span) => pathStrings.push({ value, span, models: models.map((m) => m.name) }));
        }
      }
    }
  };

  for (const p of programs) for (const d of p.decls) decl(d, p.file);
  // A derived model (`model Tiny = Llama(…)`) has the paths of the body it runs.
  const derived = new Map<string, string>();
  for (const p of programs) for (const d of p.decls) if (d.kind === 'derived') derived.set(d.name.name, d.base.name);
  const bodyOf = (name: string): string => {
    let n = name;
    for (let hops = 0; derived.has(n) && hops < 64; hops++) n = derived.get(n) as string;
    return n;
  };
  for (const str of pathStrings) {
    if (patternProblem(str.value) !== undefined) continue;
    for (const model of new Set(str.models.map(bodyOf))) {
      let best: { key: string; score: number } | undefined;
      for (const d of pathDefs.get(model) ?? []) {
        const score = pathMatch(str.value, d.segs);
        if (score > 0 && (best === undefined || score > best.score)) best = { key: d.key, score };
      }
      if (best !== undefined) occurrences.push({ key: best.key, kind: 'path', name: str.value, span: str.span, def: false });
    }
  }
  const defs = new Map<string, Occurrence>();
  for (const o of occurrences) if (o.def && !defs.has(o.key)) defs.set(o.key, o);
  return { occurrences, defs };
}

/** Every string literal in an expression (a list of patterns, a call's or a record's values). */
function strings(e: Expr, f: (value: string, span: Span) => void): void {
  switch (e.kind) {
    case 'str':
      return f(e.value, e.span);
    case 'call':
      for (const a of e.args) strings(a.value, f);
      return;
    case 'tuple':
    case 'list':
      for (const x of e.items) strings(x, f);
      return;
    case 'record':
      for (const x of e.fields) strings(x.value, f);
      return;
    default:
      return;
  }
}

/** The occurrence under a 0-based offset of `file` (end inclusive: the cursor just after a name). */
export function occurrenceAt(index: SymbolIndex, file: string, offset: number): Occurrence | undefined {
  return index.occurrences.find((o) => o.span.file === file && o.span.start.offset <= offset && offset <= o.span.end.offset);
}

/** Every occurrence of the symbol with this key, its declaration first. */
export function occurrencesOf(index: SymbolIndex, key: string): Occurrence[] {
  return index.occurrences.filter((o) => o.key === key).sort((a, b) => Number(b.def) - Number(a.def));
}
