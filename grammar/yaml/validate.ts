// Validates a YAML document against the schema (schema.ts) with ajv and turns ajv's errors into
// located diagnostics: the YAML line:column of the offending key or value, what was expected and
// what was found, and the nearest accepted key for an unknown one.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isPair, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { diag, note } from '../diagnostics/make.ts';
import { didYouMean } from '../diagnostics/suggest.ts';
import { DECL_TAGS, STMT_TAGS, YAML_FORM_VERSION } from './forms.ts';
import type { Locator } from './positions.ts';
import { buildYamlSchema } from './schema.ts';

interface Compiled {
  validate: ValidateFunction;
  /** Schema object → its definition name: ajv's schemaPaths restart at every $ref, objects do not. */
  defs: Map<unknown, string>;
}

let compiled: Compiled | undefined;

/** The loader's validator: the schema without config `required` (the checker reports those). */
function validator(): Compiled {
  if (compiled === undefined) {
    const schema = buildYamlSchema({ requireConfigFields: false });
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictTypes: false, strictRequired: false });
    const definitions = schema['definitions'] as Record<string, unknown>;
    compiled = { validate: ajv.compile(schema), defs: new Map(Object.entries(definitions).map(([name, def]) => [def, name])) };
  }
  return compiled;
}

/** What each schema definition is called in messages. */
const FORM_NAMES: Record<string, string> = {
  Model: 'a model declaration',
  Derived: 'a derived model (`model` with `from`)',
  Layer: 'a layer declaration',
  Binding: 'a top-level `let`',
  Inherit: 'an inherit declaration',
  Prune: 'a prune declaration',
  Adapter: 'an adapter declaration',
  Train: 'a train declaration',
  Sample: 'a sample declaration',
  InputStmt: 'an input statement',
  LetStmt: 'a let statement',
  OutputStmt: 'an output statement',
  RepeatStmt: 'a repeat statement',
  RequireStmt: 'a require statement',
  ParamStmt: 'a param statement',
  ReturnStmt: 'a return statement',
};

const TYPE_NAMES: Record<string, string> = {
  object: 'a map',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  null: 'nothing',
};

/** Validates `data` (the document as plain values) and maps every error onto `doc`'s nodes. */
export function validateDocument(doc: Document, data: unknown, loc: Locator): Diagnostic[] {
  const { validate, defs } = validator();
  if (validate(data)) return [];
  return mapErrors(validate.errors ?? [], defs, doc, loc);
}

const segments = (pointer: string): string[] =>
  pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));

function mapErrors(errors: ErrorObject[], defs: Map<unknown, string>, doc: Document, loc: Locator): Diagnostic[] {
  const isKindUnion = (e: ErrorObject): boolean => e.keyword === 'anyOf' && ['Decl', 'Stmt'].includes(defs.get(e.parentSchema) ?? '');
  // A failed union reports every branch; keep the union's own error, at its deepest place.
  const unionPaths = errors.filter((e) => e.keyword === 'anyOf' && !isKindUnion(e)).map((e) => e.instancePath);
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (e.keyword === 'if') continue; // the failing `then` reports the real problem
    if (/\/anyOf\/\d+\//.test(e.schemaPath)) continue; // one branch of a union
    if (e.keyword === 'anyOf' && !isKindUnion(e) && unionPaths.some((p) => p.startsWith(`${e.instancePath}/`))) continue;
    const d = mapError(e, defs, doc, loc);
    const key = `${d.span.start.offset}:${d.code}:${d.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(d);
    }
  }
  return out;
}

function mapError(e: ErrorObject, defs: Map<unknown, string>, doc: Document, loc: Locator): Diagnostic {
  const path = segments(e.instancePath);
  const { node, anchor } = nodeAt(doc, path);
  const where = loc.spanOf(anchor?.range);
  const form = defs.get(e.parentSchema);
  const formName = form === undefined ? 'the document' : (FORM_NAMES[form] ?? form);
  const label = pathLabel(path);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const pair = isMap(node) ? pairOf(node.items, key) : undefined;
      const allowed = Object.keys((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
      const suggestion = didYouMean(key, allowed);
      const span = loc.spanOf((pair?.key as Node | undefined)?.range ?? anchor?.range);
      const notes = suggestion === undefined ? [note(`accepted keys: ${allowed.join(', ')}`)] : [];
      return diag('E0207', span, `unknown key \`${key}\` in ${form === undefined ? 'the top level' : formName}`, { suggestion, notes });
    }
    case 'required': {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      if (path.length === 0 && key === 'scion') return versionError(doc, loc, 'the document must start with `scion: 1`');
      const first = isMap(node) ? (node.items[0]?.key as Node | undefined) : undefined;
      return diag('E0209', loc.spanOf(first?.range ?? anchor?.range), `${formName} needs the key \`${key}\``);
    }
    case 'const':
      return versionError(doc, loc, `unsupported version ${found(node)} of the YAML form; this scion reads \`scion: ${YAML_FORM_VERSION}\``);
    case 'anyOf': {
      if (isKindUnionName(form)) {
        const decl = form === 'Decl';
        const tags: readonly string[] = decl ? DECL_TAGS : STMT_TAGS;
        const firstKey = isMap(node) && isScalar(node.items[0]?.key) ? String(node.items[0].key.value) : undefined;
        const what = decl ? 'a declaration' : 'a statement';
        return diag('E0211', where, `this item is not ${what}: it needs one of the keys ${tags.map((t) => `\`${t}\``).join(', ')}`, {
          suggestion: firstKey === undefined ? undefined : didYouMean(firstKey, tags),
        });
      }
      const expected =
        form === 'Value'
          ? 'a number, true/false, a string (an expression), a list or a map'
          : String((e.parentSchema as { description?: string }).description ?? 'another kind of value');
      return diag('E0208', where, `${label}: expected ${expected}, found ${found(node)}`);
    }
    case 'type': {
      const type = String((e.params as { type: string }).type);
      if (path.length === 0) return versionError(doc, loc, `a YAML spec is a map starting with \`scion: ${YAML_FORM_VERSION}\`, found ${found(node)}`);
      return diag('E0208', where, `${label}: expected ${TYPE_NAMES[type] ?? type}, found ${found(node)}`);
    }
    case 'pattern':
      return diag('E0208', where, `${label}: expected a name (letters, digits and _, not starting with a digit), found ${found(node)}`);
    default:
      return diag('E0208', where, `${label}: ${e.message ?? 'invalid value'}`);
  }
}

/** `data[1]` for the path …/data/1: the nearest key, with the list indices after it. */
function pathLabel(path: readonly string[]): string {
  let indices = '';
  for (let i = path.length - 1; i >= 0; i--) {
    const seg = path[i]!;
    if (!/^\d+$/.test(seg)) return `\`${seg}${indices}\``;
    indices = `[${seg}]${indices}`;
  }
  return 'this value';
}

const isKindUnionName = (form: string | undefined): boolean => form === 'Decl' || form === 'Stmt';

function versionError(doc: Document, loc: Locator, message: string): Diagnostic {
  const root = doc.contents;
  const pair = isMap(root) ? pairOf(root.items, 'scion') : undefined;
  const at = (pair?.value as Node | undefined)?.range ?? root?.range;
  return diag('E0210', loc.spanOf(at), message, { suggestion: `write \`scion: ${YAML_FORM_VERSION}\` as the first line after the modeline` });
}

/** Describes a node for "found …": `a number (3)`, `a string ("x")`, `a list`. */
export function found(node: Node | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'nothing';
    if (typeof v === 'boolean') return `\`${v}\``;
    if (typeof v === 'number') return `a number (${String(v)})`;
    if (typeof v === 'string') return v === '' ? 'an empty string' : `\`${v.length > 40 ? `${v.slice(0, 40)}…` : v}\``;
  }
  return 'an alias';
}

function pairOf(items: readonly unknown[], key: string): Pair | undefined {
  for (const item of items) {
    if (isPair(item) && isScalar(item.key) && String(item.key.value) === key) return item;
  }
  return undefined;
}

/**
 * The node at a JSON pointer's segments (`undefined` for a key with no value) and the node to
 * point at: the node itself, a valueless key, or the deepest node found if the path leaves the tree.
 */
function nodeAt(doc: Document, path: readonly string[]): { node: Node | undefined; anchor: Node | undefined } {
  let node = (doc.contents ?? undefined) as Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = pairOf(node.items, seg);
      if (!pair) return { node, anchor: node };
      // `key:` with nothing after it: point at the key, not at the empty place after the colon.
      const v = pair.value as Node | null | undefined;
      if (v === null || v === undefined || (isScalar(v) && v.value === null && v.range?.[0] === v.range?.[1]))
        return { node: undefined, anchor: pair.key as Node };
      node = pair.value as Node;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)] as Node | undefined;
      if (!item) return { node, anchor: node };
      node = item;
    } else break;
  }
  return { node, anchor: node };
}
