// Helpers over the AST shared by both front ends and their tests.

/** A node's type with every location removed (`span`, and `keySpan`, `nameSpan`, `dtypeSpan`, …). */
export type WithoutSpans<T> = T extends readonly (infer U)[]
  ? WithoutSpans<U>[]
  : T extends object
    ? { [K in keyof T as K extends 'span' | `${string}Span` ? never : K]: WithoutSpans<T[K]> }
    : T;

const isSpanKey = (k: string): boolean => k === 'span' || k.endsWith('Span');

/**
 * A deep copy of an AST node without locations and without `undefined`-valued properties, so
 * trees from different texts (or from .scion and YAML) compare with `toEqual`/`deepStrictEqual`.
 *
 * @example expect(stripSpans(parse(a).program)).toEqual(stripSpans(parse(b).program))
 */
export function stripSpans<T>(node: T): WithoutSpans<T> {
  return strip(node) as WithoutSpans<T>;
}

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (isSpanKey(k) || x === undefined) continue;
    out[k] = strip(x);
  }
  return out;
}
