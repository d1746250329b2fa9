// Hover text: what the checker, the evaluator and `explain` already know about a name, in
// Markdown. A library entry shows its signature and doc line (grammar/library); a parameter or
// `let` its constant value (grammar/eval), or its tensor's shape where the model lowers; a model
// its parameter count (compiler/explain.ts, when it lowers); a config field its doc line
// (grammar/schema/fields.ts).

import type { Decl, LayerDecl, ModelDecl, Program, Span, Stmt } from '../grammar/ast.ts';
import { formatExpr } from '../grammar/dsl/format.ts';
import { evalParams } from '../grammar/eval/params.ts';
import { describeValue, evalConst, type Value } from '../grammar/eval/value.ts';
import { type ArgSpec, lookup } from '../grammar/library/signatures.ts';
import { CONFIG_FIELDS } from '../grammar/schema/fields.ts';
import { explainModel, human } from '../compiler/explain.ts';
import { lowerModel } from '../compiler/lower/lower-model.ts';
import type { Occurrence } from './symbols.ts';

const code = (text: string): string => `\`\`\`scion\n${text}\n\`\`\``;

function argText(a: ArgSpec): string {
  const name = a.variadic ? `...${a.name}` : a.name;
  if (a.default === undefined) return name;
  return `${name} = ${a.default === null ? 'none' : typeof a.default === 'string' ? `"${a.default}"` : String(a.default)}`;
}

/** `Linear(x, out, bias = true)` and its doc line. */
export function signatureText(name: string): string | undefined {
  const sig = lookup(name);
  if (sig === undefined) return undefined;
  return `${code(`${name}(${sig.args.map(argText).join(', ')})`)}\n\n${sig.doc} _(${sig.context})_`;
}

/** The constant values of a model's parameters (defaults over earlier parameters), by name. */
function paramValues(d: ModelDecl | LayerDecl): Map<string, Value> {
  const env = new Map<string, Value>();
  if (d.kind === 'layer') return env;
  for (const p of evalParams(d, []).params) if (p.result !== 'no-default' && p.result.ok) env.set(p.name, p.result.value);
  return env;
}

function localHover(o: Occurrence, decls: readonly Decl[]): string | undefined {
  // key: local:<file>#<Decl>:<name>
  const m = /^local:(.*)#([^:#]+):([^:]+)$/.exec(o.key);
  if (m === null) return undefined;
  const [, file, declName, name] = m as unknown as [string, string, string, string];
  const d = decls.find((x): x is ModelDecl | LayerDecl => (x.kind === 'model' || x.kind === 'layer') && x.name.name === declName && x.span.file === file);
  if (d === undefined) return undefined;
  const env = paramValues(d);
  const param = d.params.find((p) => p.name.name === name);
  if (param !== undefined) {
    const v = env.get(name);
    const head = `(parameter of ${declName}) ${name}`;
    return v === undefined ? code(head) : `${code(`${head} = ${describeValue(v)}`)}`;
  }
  // The binding under the cursor; for a use, the last binding completed before it (`h = h + …`
  // reads the previous `h`).
  const at = o.span.start.offset;
  const binds = (id: { span: Span }, whole: Span): boolean => (o.def ? id.span.start.offset === at : whole.end.offset <= at);
  let found: Stmt | undefined;
  const walk = (list: readonly Stmt[]): void => {
    for (const s of list) {
      if (s.kind === 'repeat') {
        if (s.var.name === name && (o.def ? s.var.span.start.offset === at : s.var.span.start.offset < at)) found = s;
        walk(s.body);
      } else if ((s.kind === 'let' || s.kind === 'output' || s.kind === 'input' || s.kind === 'param') && s.name.name === name && binds(s.name, s.span))
        found = s;
    }
  };
  walk(d.body);
  if (found === undefined) return undefined;
  switch (found.kind) {
    case 'input':
    case 'param':
      return code(`${found.kind} ${name}: ${found.type.dtype}[${found.type.shape.map(formatExpr).join(', ')}]`);
    case 'repeat':
      return code(`(repeat variable) ${name} in ${formatExpr(found.range)}`);
    case 'let':
    case 'output': {
      const r = evalConst(found.value, env);
      const word = found.kind === 'output' ? 'output ' : '';
      if (r.ok) return code(`${word}${name} = ${describeValue(r.value)}`);
      const stmt = found;
      const shapes = d.kind === 'model' ? tensorShapes(decls, d, (s) => s.span.start.offset === stmt.span.start.offset && s.span.file === stmt.span.file) : [];
      const shapeText = shapes.length === 0 ? 'a tensor' : `a tensor of shape ${shapes.map((x) => `[${x.join(', ')}]`).join(' or ')} (with \`batch\` = 1)`;
      return `${code(`${word}${name} = ${formatExpr(found.value)}`)}\n\n${shapeText}`;
    }
    default:
      return undefined;
  }
}

/**
 * The shapes a statement's tensor takes when the model is lowered with its defaults (one per
 * distinct shape: a statement in a `repeat` runs once per iteration). Empty when it does not lower.
 */
function tensorShapes(decls: readonly Decl[], model: ModelDecl, isStmt: (s: { span: Span }) => boolean): (readonly number[])[] {
  try {
    const m = lowerModel({ file: model.span.file, imports: [], decls: [...decls] }, model.name.name);
    const byId = new Map(m.graph.nodes.map((n) => [n.id, n.shape]));
    const out = new Map<string, readonly number[]>();
    for (const s of m.instance.stmts) {
      if (!isStmt(s)) continue;
      const shape = byId.get(m.taps.get(s.id) ?? -1);
      if (shape !== undefined) out.set(shape.join(','), shape);
    }
    return [...out.values()];
  } catch {
    return [];
  }
}

function bindingHover(name: string, decls: readonly Decl[]): string | undefined {
  const env = new Map<string, Value>();
  for (const d of decls) {
    if (d.kind !== 'binding') continue;
    const r = evalConst(d.value, env);
    if (r.ok) env.set(d.name.name, r.value);
    if (d.name.name === name) return code(`let ${name} = ${r.ok ? describeValue(r.value) : formatExpr(d.value)}`);
  }
  return undefined;
}

function modelHover(name: string, decls: readonly Decl[], file: string): string {
  const program: Program = { file, imports: [], decls: [...decls] };
  try {
    const r = explainModel(program, name);
    return `${code(`model ${name}`)}\n\n${human(r.params)} parameters (${r.params.toLocaleString('en-US')}), ${r.layers.length} layers — \`scion explain --model ${name}\``;
  } catch (error) {
    return `${code(`model ${name}`)}\n\ndoes not lower: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Markdown for the symbol under the cursor, or undefined when there is nothing to say. */
export function hoverText(o: Occurrence, decls: readonly Decl[], file: string): string | undefined {
  switch (o.kind) {
    case 'library':
      return signatureText(o.name);
    case 'model':
      return modelHover(o.name, decls, file);
    case 'binding':
      return bindingHover(o.name, decls);
    case 'layer': {
      const d = decls.find((x): x is LayerDecl => x.kind === 'layer' && x.name.name === o.name);
      return d === undefined
        ? undefined
        : code(`layer ${o.name}(${d.params.map((p) => (p.default ? `${p.name.name} = ${formatExpr(p.default)}` : p.name.name)).join(', ')})`);
    }
    case 'local':
      return localHover(o, decls);
    case 'path': {
      const [, model, path] = o.key.split(':') as [string, string, string];
      return `${code(`${path}`)}

layer path of \`${model}\``;
    }
    case 'field': {
      const [, kind, key] = o.key.split(':') as [string, keyof typeof CONFIG_FIELDS, string];
      const spec = (CONFIG_FIELDS[kind] as Record<string, { doc: string; kind: string; required?: boolean }>)[key];
      return spec === undefined ? undefined : `${code(`${kind} { ${key} = … }`)}\n\n${spec.doc} _(${spec.kind}${spec.required ? ', required' : ''})_`;
    }
  }
}
