// AST → the YAML form. Deterministic: the same program always prints the same text, starting
// with the yaml-language-server modeline and `scion: 1`. Expressions print with the .scion
// formatter; numbers keep their spelling (`3e-4`, `2k`), records and lists become flow maps and
// lists, booleans YAML booleans. Comments go where the loader reads them back (build.ts).

import { Document, Pair, Scalar, YAMLMap, YAMLSeq, type Node, type ScalarTag } from 'yaml';
import type { Arg, Commented, ConfigDecl, Decl, Expr, Param, Program, Stmt, TensorType } from '../ast.ts';
import { formatExpr } from '../dsl/format.ts';
import { CONFIG_FIELDS, type FieldSpec } from '../schema/fields.ts';
import { MODELINE_PREFIX, YAML_FORM_VERSION } from './forms.ts';

export const DEFAULT_SCHEMA_PATH = '../schema/scion.schema.json';

export interface PrintOptions {
  /** Path of scion.schema.json as the editor should find it from the printed file. */
  schemaPath?: string;
}

/** A number printed exactly as written in the spec (`3e-4`, `1.0`, `2k`), never reformatted. */
class RawNumber {
  constructor(readonly text: string) {}
}

const RAW_NUMBER: ScalarTag = {
  tag: 'tag:yaml.org,2002:float',
  default: true,
  identify: (value) => value instanceof RawNumber,
  // Never chosen when reading (`test` matches nothing): only for printing.
  test: /^(?!)$/,
  resolve: (source) => source,
  stringify: (item) => (item.value as RawNumber).text,
};

const commentBlock = (lines: readonly string[] | undefined): string | undefined =>
  lines === undefined || lines.length === 0 ? undefined : lines.map((l) => (l === '' ? '' : ` ${l}`)).join('\n');

const scalar = (value: string | number | boolean | RawNumber): Scalar => new Scalar(value);

function flowMap(pairs: Pair[]): YAMLMap {
  const m = new YAMLMap();
  m.flow = true;
  m.items.push(...pairs);
  return m;
}

function flowSeq(items: Node[]): YAMLSeq {
  const s = new YAMLSeq();
  s.flow = true;
  s.items.push(...items);
  return s;
}

/** An expression as a YAML value. */
function valueNode(e: Expr): Node {
  switch (e.kind) {
    case 'num':
      return scalar(new RawNumber(e.text));
    case 'bool':
      return scalar(e.value);
    case 'list':
      return flowSeq(e.items.map(valueNode));
    case 'record':
      return flowMap(e.fields.map((f) => new Pair(scalar(f.key), valueNode(f.value))));
    case 'unary':
      // `-1` reads back as a YAML number whose text the expression parser sees again.
      if (e.op === '-' && e.arg.kind === 'num') return scalar(new RawNumber(formatExpr(e)));
      return scalar(formatExpr(e));
    default:
      return scalar(formatExpr(e));
  }
}

/** A configuring field's value in the shape its kind takes in YAML. */
function fieldNode(spec: FieldSpec | undefined, e: Expr): Node {
  if (spec?.kind === 'string' && e.kind === 'str') return scalar(e.value);
  if (spec?.kind === 'strings' && e.kind === 'list' && e.items.every((i) => i.kind === 'str')) {
    return flowSeq(e.items.map((i) => scalar((i as { value: string }).value)));
  }
  return valueNode(e);
}

const typeText = (t: TensorType): string => `${t.dtype}[${t.shape.map(formatExpr).join(', ')}]`;

/** A list item map whose first pair is `tag: name`, carrying the item's comments. */
function item(tag: string, name: Node, node: Commented): YAMLMap {
  const m = new YAMLMap();
  const lead = commentBlock(node.leading);
  if (lead !== undefined) m.commentBefore = lead;
  if (node.trailing !== undefined) name.comment = ` ${node.trailing}`;
  m.items.push(new Pair(scalar(tag), name));
  return m;
}

const add = (m: YAMLMap, key: string, value: Node): void => void m.items.push(new Pair(scalar(key), value));

function paramsNode(params: readonly Param[]): YAMLMap {
  // A parameter without a default prints as a bare key: `{x, hidden, eps: 1e-5}`.
  return flowMap(params.map((p) => new Pair(scalar(p.name.name), p.default === undefined ? null : valueNode(p.default))));
}

function argsNode(args: readonly Arg[]): Node {
  if (args.every((a) => a.name !== undefined)) return flowMap(args.map((a) => new Pair(scalar(a.name!), valueNode(a.value))));
  return scalar(args.map((a) => (a.name === undefined ? formatExpr(a.value) : `${a.name} = ${formatExpr(a.value)}`)).join(', '));
}

function bodyNode(body: readonly Stmt[]): YAMLSeq {
  const s = new YAMLSeq();
  s.items.push(...body.map(stmtNode));
  return s;
}

function stmtNode(s: Stmt): YAMLMap {
  switch (s.kind) {
    case 'input': {
      const m = item('input', scalar(s.name.name), s);
      add(m, 'type', scalar(typeText(s.type)));
      return m;
    }
    case 'let':
    case 'output': {
      const m = item(s.kind, scalar(s.name.name), s);
      add(m, 'value', valueNode(s.value));
      return m;
    }
    case 'repeat': {
      const m = item('repeat', scalar(s.var.name), s);
      add(m, 'in', valueNode(s.range));
      add(m, 'body', bodyNode(s.body));
      return m;
    }
    case 'require': {
      const m = item('require', valueNode(s.cond), s);
      if (s.message !== undefined) add(m, 'message', scalar(s.message.value));
      return m;
    }
    case 'param': {
      const m = item('param', scalar(s.name.name), s);
      add(m, 'type', scalar(typeText(s.type)));
      if (s.init !== undefined) add(m, 'init', valueNode(s.init));
      return m;
    }
    case 'return':
      return item('return', valueNode(s.value), s);
  }
}

function configNode(d: ConfigDecl): YAMLMap {
  let m: YAMLMap;
  switch (d.kind) {
    case 'inherit':
      m = item('inherit', scalar(d.child.name), d);
      add(m, 'from', scalar(d.parent.name));
      add(m, 'at', scalar(d.at.value));
      break;
    case 'prune':
      m = item('prune', scalar(d.model.name), d);
      if (d.to !== undefined) add(m, 'to', scalar(d.to.name));
      break;
    case 'adapter':
      m = item('adapter', scalar(d.name.name), d);
      add(m, 'on', scalar(d.on.name));
      break;
    case 'train':
    case 'sample':
      m = item(d.kind, scalar(d.target.name), d);
      break;
  }
  const specs = CONFIG_FIELDS[d.kind] as Record<string, FieldSpec>;
  for (const f of d.fields) {
    const key = scalar(f.key);
    const lead = commentBlock(f.leading);
    if (lead !== undefined) key.commentBefore = lead;
    const value = fieldNode(specs[f.key], f.value);
    if (f.trailing !== undefined) value.comment = ` ${f.trailing}`;
    m.items.push(new Pair(key, value));
  }
  return m;
}

function declNode(d: Decl): YAMLMap {
  switch (d.kind) {
    case 'model': {
      const m = item('model', scalar(d.name.name), d);
      if (d.preset !== undefined) add(m, 'preset', scalar(d.preset.name));
      if (d.params.length > 0) add(m, 'params', paramsNode(d.params));
      add(m, 'body', bodyNode(d.body));
      return m;
    }
    case 'derived': {
      const m = item('model', scalar(d.name.name), d);
      add(m, 'from', scalar(d.base.name));
      if (d.args.length > 0) add(m, 'args', argsNode(d.args));
      return m;
    }
    case 'layer': {
      const m = item('layer', scalar(d.name.name), d);
      if (d.params.length > 0) add(m, 'params', paramsNode(d.params));
      add(m, 'body', bodyNode(d.body));
      return m;
    }
    case 'binding': {
      const m = item('let', scalar(d.name.name), d);
      add(m, 'value', valueNode(d.value));
      return m;
    }
    default:
      return configNode(d);
  }
}

function importsNode(p: Program): { key: Scalar; value: YAMLSeq } {
  const key = scalar('imports');
  const first = p.imports[0];
  const lead = commentBlock(first?.leading);
  if (lead !== undefined) key.commentBefore = lead;
  // Flow `[a.scion, b.scion]` unless a later import carries comments that need their own lines.
  const block = p.imports.some((imp, i) => imp.trailing !== undefined || (i > 0 && (imp.leading?.length ?? 0) > 0));
  const seq = new YAMLSeq();
  seq.flow = !block;
  p.imports.forEach((imp, i) => {
    const s = scalar(imp.path.value);
    const later = i > 0 ? commentBlock(imp.leading) : undefined;
    if (later !== undefined) s.commentBefore = later;
    if (imp.trailing !== undefined) s.comment = ` ${imp.trailing}`;
    seq.items.push(s);
  });
  return { key, value: seq };
}

/**
 * Prints a program in the YAML form.
 *
 * @example printYaml(parseProgram('let x = 2k', 'x.scion').program)
 * // '# yaml-language-server: $schema=../schema/scion.schema.json\n\nscion: 1\ndecls:\n  - let: x\n    value: 2k\n'
 */
export function printYaml(p: Program, opts: PrintOptions = {}): string {
  const doc = new Document(null, { customTags: [RAW_NUMBER], version: '1.2' });
  const header = [`${MODELINE_PREFIX}${opts.schemaPath ?? DEFAULT_SCHEMA_PATH}`, ...(p.header ?? [])];
  doc.commentBefore = commentBlock(header) ?? null;
  const root = new YAMLMap();
  add(root, 'scion', scalar(YAML_FORM_VERSION));
  if (p.imports.length > 0) {
    const { key, value } = importsNode(p);
    root.items.push(new Pair(key, value));
  }
  if (p.decls.length > 0) {
    const decls = new YAMLSeq();
    p.decls.forEach((d, i) => {
      const m = declNode(d);
      if (i > 0) m.spaceBefore = true; // a blank line between declarations
      decls.items.push(m);
    });
    add(root, 'decls', decls);
  }
  doc.contents = root;
  const trailing = commentBlock(p.trailingComments);
  if (trailing !== undefined) doc.comment = trailing;
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false, indentSeq: true });
}
