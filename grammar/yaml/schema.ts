// The JSON Schema of the YAML form, built with TypeBox from the same tables as the AST:
// CONFIG_FIELDS (grammar/schema/fields.ts) for configuring declarations and forms.ts for the rest.
// write-schema.ts writes it to schema/scion.schema.json for editors (yaml-language-server reads the
// modeline at the top of every YAML spec); the loader validates with it through ajv.
//
// Draft-07 with `definitions`, because that is what editors support best. Declarations and
// statements are discriminated with if/then on their tag key, so a validator reports only the
// errors of the form an item claims to be, not of every form it is not.

import { Type, type TSchema } from '@sinclair/typebox';
import { CONFIG_FIELDS, type FieldSpec } from '../schema/fields.ts';
import { DECL_FORMS, DECL_TAGS, STMT_FORMS, STMT_TAGS, YAML_FORM_VERSION, isConfigKind, type DeclForm, type StmtForm } from './forms.ts';

export const SCHEMA_ID = 'https://scion.dev/schema/scion.schema.json';

const ref = (name: string, description?: string): TSchema =>
  description === undefined ? Type.Ref(`#/definitions/${name}`) : Type.Ref(`#/definitions/${name}`, { description });

const NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

const DESCRIPTIONS: Record<string, string> = {
  preset: 'naming family mapping `as` paths to checkpoint names: llama, gpt2, dit or unet',
  params: 'parameters with their defaults: `{vocab: 4096, dim: 256}`; a name without a value has no default',
  body: 'the statements of the body, in order',
  from: 'the model this one derives from or inherits weights from',
  args: 'arguments for the base model: a map of named values, or a string holding an argument list',
  at: 'path of the parent checkpoint (safetensors)',
  to: 'name of the pruned model (absent: prune in place)',
  on: 'the model the adapter is attached to',
  value: 'an expression',
  type: 'a tensor type: `i32[batch, ctx]`',
  in: 'the range of the repeat variable: `0..depth`',
  message: 'the message shown when the requirement fails',
  init: 'initializer expression',
};

/** The schema of one configuring field's value, by its value kind. */
function fieldSchema(spec: FieldSpec): TSchema {
  switch (spec.kind) {
    case 'string':
      return Type.String({ description: spec.doc });
    case 'strings':
      return Type.Array(Type.String(), { description: spec.doc });
    case 'expr':
    case 'int':
    case 'number':
    case 'bool':
    case 'model':
      // Literal kinds are checked on the AST (grammar/check), the same for both front ends; here
      // any value can be an expression (`steps: 2k`, `rank: r * 2`).
      return ref('Value', spec.doc);
  }
}

/** Schemas of the structural keys, shared by the forms that use them. */
function structuralSchema(key: string, tag: string): TSchema {
  const description = DESCRIPTIONS[key];
  const opt = description === undefined ? {} : { description };
  switch (key) {
    case 'params':
      return Type.Object(
        {},
        { additionalProperties: Type.Union([ref('Value'), Type.Null()], { description: 'a default value, or nothing for a parameter without one' }), ...opt },
      );
    case 'body':
      return Type.Array(ref('Stmt'), opt);
    case 'args':
      return Type.Union([Type.Object({}, { additionalProperties: ref('Value') }), Type.String()], opt);
    case 'at':
    case 'message':
    case 'type':
      return Type.String(opt);
    case 'preset':
    case 'from':
    case 'to':
    case 'on':
      return ref('Name', description);
    case 'value':
    case 'in':
    case 'init':
      return ref('Value', description);
    default:
      if (key === tag) return ref('Name');
      throw new Error(`no schema for structural key '${key}'`);
  }
}

export interface SchemaOptions {
  /**
   * Mark configuring fields that CONFIG_FIELDS requires as `required`. Editors want this; the loader
   * leaves it to the checker, which reports missing fields for both front ends alike.
   */
  requireConfigFields?: boolean;
}

function declSchema(kind: DeclForm, opts: SchemaOptions): TSchema {
  const f = DECL_FORMS[kind];
  const props: Record<string, TSchema> = {};
  const required: string[] = [f.tag, ...f.required];
  for (const key of f.keys) {
    // The tag of a top-level `let` and of a statement `let` holds a plain name, like every tag.
    props[key] = key === f.tag ? ref('Name', `${kind} name`) : structuralSchema(key, f.tag);
  }
  if (isConfigKind(kind)) {
    for (const [key, spec] of Object.entries(CONFIG_FIELDS[kind]) as [string, FieldSpec][]) {
      props[key] = fieldSchema(spec);
      if (opts.requireConfigFields === true && spec.required === true) required.push(key);
    }
  }
  return objectOf(props, required);
}

function stmtSchema(kind: StmtForm): TSchema {
  const f = STMT_FORMS[kind];
  const props: Record<string, TSchema> = {};
  // Most statements name something; `require` and `return` hold an expression.
  props[f.tag] = kind === 'require' || kind === 'return' ? ref('Value', `${kind} expression`) : ref('Name', `${kind} name`);
  for (const key of f.keys) {
    if (key !== f.tag) props[key] = structuralSchema(key, f.tag);
  }
  return objectOf(props, [f.tag, ...f.required]);
}

/** A closed object whose keys keep the order of `props`; those not in `required` are optional. */
function objectOf(props: Record<string, TSchema>, required: readonly string[]): TSchema {
  const shaped: Record<string, TSchema> = {};
  for (const [key, schema] of Object.entries(props)) shaped[key] = required.includes(key) ? schema : Type.Optional(schema);
  return Type.Object(shaped, { additionalProperties: false });
}

const defName = (kind: string): string => kind[0]!.toUpperCase() + kind.slice(1);

/** if/then dispatch: an item is validated against the form its tag key names. */
function dispatch(cases: { when: TSchema; then: string }[], tags: readonly string[], description: string): TSchema {
  return Type.Unsafe({
    type: 'object',
    description,
    anyOf: tags.map((t) => ({ required: [t] })),
    allOf: cases.map((c) => ({ if: c.when, then: ref(c.then) })),
  });
}

/**
 * The whole schema of a YAML spec.
 *
 * @example const schema = buildYamlSchema({ requireConfigFields: true }); // what editors read
 */
export function buildYamlSchema(opts: SchemaOptions = {}): Record<string, unknown> {
  const definitions: Record<string, TSchema> = {
    Name: Type.String({ pattern: NAME_PATTERN, description: 'a name: letters, digits and _, not starting with a digit' }),
    Value: Type.Union([Type.Number(), Type.Boolean(), Type.String(), Type.Array(ref('Value')), Type.Object({}, { additionalProperties: ref('Value') })], {
      description: 'a number, true/false, a string holding an expression, a list or a map (a record)',
    }),
  };
  const declCases: { when: TSchema; then: string }[] = [];
  for (const kind of Object.keys(DECL_FORMS) as DeclForm[]) {
    definitions[defName(kind)] = declSchema(kind, opts);
    const tag = DECL_FORMS[kind].tag;
    const when =
      kind === 'derived' ? { required: ['model', 'from'] } : kind === 'model' ? { required: ['model'], not: { required: ['from'] } } : { required: [tag] };
    declCases.push({ when: Type.Unsafe(when), then: defName(kind) });
  }
  const stmtCases = STMT_TAGS.map((kind) => {
    definitions[`${defName(kind)}Stmt`] = stmtSchema(kind);
    return { when: Type.Unsafe({ required: [kind] }), then: `${defName(kind)}Stmt` };
  });
  definitions['Decl'] = dispatch(declCases, DECL_TAGS, 'a declaration: model, layer, let, inherit, prune, adapter, train or sample');
  definitions['Stmt'] = dispatch(stmtCases, STMT_TAGS, 'a statement: input, let, output, repeat, require, param or return');

  const root = Type.Object(
    {
      scion: Type.Literal(YAML_FORM_VERSION, { description: 'version of the YAML form' }),
      imports: Type.Optional(Type.Array(Type.String(), { description: 'spec files whose declarations this one uses' })),
      decls: Type.Optional(Type.Array(ref('Decl'), { description: 'the declarations, in order' })),
    },
    { additionalProperties: false },
  );
  // JSON round trip drops TypeBox's symbol-keyed metadata, leaving plain JSON Schema.
  return JSON.parse(
    JSON.stringify({
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: SCHEMA_ID,
      title: 'Scion spec (YAML form)',
      ...root,
      definitions,
    }),
  ) as Record<string, unknown>;
}

/** The schema as committed in schema/scion.schema.json: stable key order, two-space indent. */
export function schemaText(): string {
  return `${JSON.stringify(buildYamlSchema({ requireConfigFields: true }), null, 2)}\n`;
}
