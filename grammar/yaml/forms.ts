// The shapes of the YAML form: which keys each declaration and statement is written with. The
// JSON Schema (schema.ts), the loader (build.ts) and the printer (print.ts) all read these tables,
// so a key is named in exactly one place. Configuring declarations add their fields from
// CONFIG_FIELDS (grammar/schema/fields.ts).

import type { ConfigKind } from '../ast.ts';
import { CONFIG_FIELDS } from '../schema/fields.ts';

/** The version of the YAML form, written as `scion: 1` at the top of every document. */
export const YAML_FORM_VERSION = 1;

/** The comment that points editors (yaml-language-server) at the schema; not part of the spec. */
export const MODELINE_PREFIX = 'yaml-language-server: $schema=';

/** Top-level keys, in print order. */
export const TOP_KEYS = ['scion', 'imports', 'decls'] as const;

/** A declaration's form: its discriminating key (first in print order) and its structural keys. */
export interface Form {
  /** The key that says what the item is; its value is the item's name. */
  readonly tag: string;
  /** Every structural key, the tag first, in print order. */
  readonly keys: readonly string[];
  /** Keys that must be present (besides the tag). */
  readonly required: readonly string[];
}

const form = (keys: readonly string[], required: readonly string[] = []): Form => ({ tag: keys[0]!, keys, required });

/** Declarations. `model` with `from` is a derived model, without it a full model. */
export const DECL_FORMS = {
  model: form(['model', 'preset', 'params', 'body'], ['body']),
  derived: form(['model', 'from', 'args'], ['from']),
  layer: form(['layer', 'params', 'body'], ['body']),
  binding: form(['let', 'value'], ['value']),
  inherit: form(['inherit', 'from', 'at'], ['from', 'at']),
  prune: form(['prune', 'to']),
  adapter: form(['adapter', 'on'], ['on']),
  train: form(['train']),
  sample: form(['sample']),
} as const satisfies Record<string, Form>;

export type DeclForm = keyof typeof DECL_FORMS;

/** Statements of model and layer bodies. */
export const STMT_FORMS = {
  input: form(['input', 'type'], ['type']),
  let: form(['let', 'value'], ['value']),
  output: form(['output', 'value'], ['value']),
  repeat: form(['repeat', 'in', 'body'], ['in', 'body']),
  require: form(['require', 'message']),
  param: form(['param', 'type', 'init'], ['type']),
  return: form(['return']),
} as const satisfies Record<string, Form>;

export type StmtForm = keyof typeof STMT_FORMS;

export const CONFIG_KINDS: readonly ConfigKind[] = ['inherit', 'prune', 'adapter', 'train', 'sample'];

/** Every key a declaration form accepts: its structural keys, then its fields. */
export function declKeys(kind: DeclForm): string[] {
  const structural = [...DECL_FORMS[kind].keys];
  return isConfigKind(kind) ? [...structural, ...Object.keys(CONFIG_FIELDS[kind])] : structural;
}

export function isConfigKind(kind: string): kind is ConfigKind {
  return (CONFIG_KINDS as readonly string[]).includes(kind);
}

/** The tags that start a declaration, in the order the loader tries them. */
export const DECL_TAGS = ['model', 'layer', 'let', 'inherit', 'prune', 'adapter', 'train', 'sample'] as const;
export const STMT_TAGS = Object.keys(STMT_FORMS) as StmtForm[];

/** The declaration form of a YAML map with these keys, or undefined when no tag is present. */
export function declFormOf(keys: readonly string[]): DeclForm | undefined {
  const has = (k: string): boolean => keys.includes(k);
  // The first tag present decides, so `{train: X, model: Y}` is a train with a stray key.
  const tag = keys.find((k) => (DECL_TAGS as readonly string[]).includes(k));
  if (tag === undefined) return undefined;
  if (tag === 'model') return has('from') ? 'derived' : 'model';
  if (tag === 'let') return 'binding';
  return tag as DeclForm;
}

export function stmtFormOf(keys: readonly string[]): StmtForm | undefined {
  return keys.find((k): k is StmtForm => Object.hasOwn(STMT_FORMS, k));
}
