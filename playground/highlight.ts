// Syntax highlighting for the playground's editor, derived from the chevrotain lexer's own token
// definitions (grammar/dsl/lexer.ts): the same patterns in the same order, keywords giving way to
// a longer name exactly as `longer_alt` makes the lexer do, and each token's style read from its
// categories. No second keyword list: a keyword added to the lexer is highlighted as one.

import type { TokenType } from 'chevrotain';
import { ALL_TOKENS, BinaryOp, Comment, Identifier, NumberLit, PrefixOp, StringLit, WhiteSpace } from '../grammar/dsl/lexer.ts';
import { LIBRARY } from '../grammar/library/signatures.ts';

/** CodeMirror highlighting tag names (@lezer/highlight's `tags`, `.modifier` for modifiers). */
export type TokenStyle = 'comment' | 'string' | 'number' | 'keyword' | 'operator' | 'punctuation' | 'variableName' | 'variableName.function' | null;

interface Rule {
  token: TokenType;
  /** The token's pattern anchored at the start of the rest of the line. */
  re: RegExp;
  longer: Rule[];
}

const cats = (t: TokenType): readonly TokenType[] => t.CATEGORIES ?? [];

function styleOf(t: TokenType, text: string): TokenStyle {
  if (t === WhiteSpace) return null;
  if (t === Comment) return 'comment';
  if (cats(t).includes(StringLit)) return 'string';
  if (cats(t).includes(NumberLit)) return 'number';
  // Keywords are exactly the tokens that give way to a longer identifier.
  if (t.LONGER_ALT !== undefined) return 'keyword';
  if (t === Identifier) return Object.hasOwn(LIBRARY, text) ? 'variableName.function' : 'variableName';
  if (cats(t).includes(BinaryOp) || cats(t).includes(PrefixOp)) return 'operator';
  return 'punctuation';
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function ruleOf(t: TokenType): Rule | undefined {
  const p = t.PATTERN;
  const source = p instanceof RegExp ? p.source : typeof p === 'string' ? escapeRegExp(p) : undefined;
  return source === undefined ? undefined : { token: t, re: new RegExp(`^(?:${source})`), longer: [] };
}

/** The lexer's matchable tokens in its order (categories such as Name have no pattern). */
const RULES: Rule[] = ALL_TOKENS.map(ruleOf).filter((r): r is Rule => r !== undefined);
for (const r of RULES) {
  const alts = r.token.LONGER_ALT === undefined ? [] : Array.isArray(r.token.LONGER_ALT) ? r.token.LONGER_ALT : [r.token.LONGER_ALT];
  r.longer = alts.map((a) => RULES.find((q) => q.token === a)).filter((q): q is Rule => q !== undefined);
}

/**
 * The token at the start of `rest` (the line from the cursor on): its length and style, or
 * length 1 and no style for a character the lexer rejects.
 */
export function nextToken(rest: string): { length: number; style: TokenStyle } {
  for (const r of RULES) {
    const m = r.re.exec(rest);
    if (m === null || m[0] === '') continue;
    let best = { token: r.token, text: m[0] };
    for (const alt of r.longer) {
      const longer = alt.re.exec(rest);
      if (longer !== null && longer[0].length > best.text.length) best = { token: alt.token, text: longer[0] };
    }
    return { length: best.text.length, style: styleOf(best.token, best.text) };
  }
  return { length: 1, style: null };
}

/** A whole line as [text, style] pieces: what the editor shows, for tests. */
export function highlightLine(line: string): [string, TokenStyle][] {
  const out: [string, TokenStyle][] = [];
  for (let at = 0; at < line.length; ) {
    const t = nextToken(line.slice(at));
    out.push([line.slice(at, at + t.length), t.style]);
    at += t.length;
  }
  return out;
}
