// What a parsed .scion program may say that the YAML form has no place for. The parser accepts
// these (the checker reports them), but printing them as YAML would lose or change meaning, so a
// conversion stops with these diagnostics instead:
// - a non-literal in a `string` field, or anything but a list of string literals in a `strings` field;
// - a key used twice where YAML needs a map: fields of one declaration, parameters, named
//   arguments of a derived model, keys of a record printed as a YAML map.

import type { Decl, Expr, Program, Span, Stmt } from '../ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { diag } from '../diagnostics/make.ts';
import { CONFIG_FIELDS, type FieldSpec } from '../schema/fields.ts';

/** Problems that keep `p` from being written in the YAML form; empty when it can be. */
export function yamlProblems(p: Program): Diagnostic[] {
  const out: Diagnostic[] = [];
  const unique = (what: string, keys: readonly { key: string; span: Span }[]): void => {
    const seen = new Set<string>();
    for (const { key, span } of keys) {
      if (seen.has(key))
        out.push(diag('E0214', span, `${what} \`${key}\` appears twice; a YAML map holds each key once`, { suggestion: `remove one \`${key}\`` }));
      seen.add(key);
    }
  };
  // Records and lists print as YAML maps and lists down to the first other expression.
  const value = (e: Expr | undefined): void => {
    if (e === undefined) return;
    if (e.kind === 'list') e.items.forEach(value);
    else if (e.kind === 'record') {
      unique(
        'record key',
        e.fields.map((f) => ({ key: f.key, span: f.keySpan })),
      );
      e.fields.forEach((f) => value(f.value));
    }
  };
  const body = (stmts: readonly Stmt[]): void => {
    for (const s of stmts) {
      if (s.kind === 'let' || s.kind === 'output' || s.kind === 'return') value(s.value);
      else if (s.kind === 'require') value(s.cond);
      else if (s.kind === 'param') value(s.init);
      else if (s.kind === 'repeat') {
        value(s.range);
        body(s.body);
      }
    }
  };
  const decl = (d: Decl): void => {
    switch (d.kind) {
      case 'model':
      case 'layer':
        unique(
          'parameter',
          d.params.map((q) => ({ key: q.name.name, span: q.name.span })),
        );
        d.params.forEach((q) => value(q.default));
        body(d.body);
        return;
      case 'derived':
        if (d.args.every((a) => a.name !== undefined))
          unique(
            'argument',
            d.args.map((a) => ({ key: a.name!, span: a.nameSpan ?? a.span })),
          );
        return;
      case 'binding':
        value(d.value);
        return;
      default: {
        unique(
          'field',
          d.fields.map((f) => ({ key: f.key, span: f.keySpan })),
        );
        const specs = CONFIG_FIELDS[d.kind] as Record<string, FieldSpec>;
        for (const f of d.fields) {
          const kind = specs[f.key]?.kind;
          if (kind === 'string' && f.value.kind !== 'str') {
            out.push(diag('E0214', f.value.span, `\`${f.key}\` must be a string literal to be written in YAML`, { suggestion: `write \`${f.key} = "…"\`` }));
          } else if (kind === 'strings' && !(f.value.kind === 'list' && f.value.items.every((i) => i.kind === 'str'))) {
            out.push(
              diag('E0214', f.value.span, `\`${f.key}\` must be a list of string literals to be written in YAML`, { suggestion: `write \`${f.key} = ["…"]\`` }),
            );
          } else value(f.value);
        }
      }
    }
  };
  p.decls.forEach(decl);
  return out;
}
