// Small, total accessors over chevrotain's CST. After error recovery any child may be missing and
// tokens inserted by recovery carry no position, so every accessor may return undefined and
// to-ast.ts supplies a placeholder: a partial AST is still an AST.

import type { CstElement, CstNode, IToken } from 'chevrotain';
import type { Pos, Span } from '../ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';

const isNode = (e: CstElement): e is CstNode => 'children' in e;

/** A token that really occurs in the text (not one invented by recovery). */
const isReal = (t: IToken): boolean => t.isInsertedInRecovery !== true && Number.isFinite(t.startOffset);

export function child(n: CstNode | undefined, key: string, i = 0): CstNode | undefined {
  const e = n?.children[key]?.[i];
  return e !== undefined && isNode(e) ? e : undefined;
}

export function children(n: CstNode | undefined, key: string): CstNode[] {
  return (n?.children[key] ?? []).filter(isNode);
}

export function token(n: CstNode | undefined, key: string, i = 0): IToken | undefined {
  const e = n?.children[key]?.[i];
  return e !== undefined && !isNode(e) && isReal(e) ? e : undefined;
}

export function tokens(n: CstNode | undefined, key: string): IToken[] {
  return (n?.children[key] ?? []).filter((e): e is IToken => !isNode(e) && isReal(e));
}

/** End offset (exclusive) of a token (the lexer tracks only start offsets, for speed). */
export const tokEnd = (t: IToken): number => t.startOffset + t.image.length;

/** The first and last offsets of a CST node's real tokens, or undefined when it has none. */
export function extent(n: CstNode | undefined): { start: number; end: number } | undefined {
  if (n === undefined) return undefined;
  let start = Infinity;
  let end = -Infinity;
  const stack: CstNode[] = [n];
  while (stack.length > 0) {
    const cur = stack.pop()!;
    for (const list of Object.values(cur.children)) {
      for (const e of list) {
        if (isNode(e)) stack.push(e);
        else if (isReal(e)) {
          start = Math.min(start, e.startOffset);
          end = Math.max(end, tokEnd(e));
        }
      }
    }
  }
  return start === Infinity ? undefined : { start, end };
}

/** What every CST → AST function needs: where it is, and where to report. */
export interface Ctx {
  file: string;
  locate: (offset: number) => Pos;
  diagnostics: Diagnostic[];
  /** Offset of the last real token seen: where placeholders for missing pieces are put. */
  here: number;
  /** Set while one top-level expression has already reported E0106. */
  deepReported: boolean;
  exprNesting: number;
  /** Recently made spans (see spanOf); the same cache for every copy of one file's Ctx. */
  spans: SpanCache;
}

/**
 * Spans are immutable, and a node often spans exactly what its child does (a reference and its
 * name, an argument and its value): handing out the same object again keeps a large file's AST
 * small (issue 19: spans and positions were two thirds of its objects). Direct-mapped by start
 * offset, so its size is fixed.
 */
export interface SpanCache {
  starts: number[];
  ends: number[];
  spans: (Span | undefined)[];
}
const CACHE_SLOTS = 1024;

export const newSpanCache = (): SpanCache => ({ starts: [], ends: [], spans: [] });

export function spanOf(ctx: Ctx, start: number, end: number): Span {
  const e = Math.max(start, end);
  const slot = start & (CACHE_SLOTS - 1);
  const c = ctx.spans;
  const hit = c.spans[slot];
  if (hit !== undefined && c.starts[slot] === start && c.ends[slot] === e) return hit;
  const span = { file: ctx.file, start: ctx.locate(start), end: ctx.locate(e) };
  c.starts[slot] = start;
  c.ends[slot] = e;
  c.spans[slot] = span;
  return span;
}

/** Default `locate`: 1-based line and column from a table of line starts (`\n` ends a line, like the renderer's). */
export function lineLocator(text: string): (offset: number) => Pos {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
  }
  // Positions are immutable: the same offset gets the same object while it is in this cache.
  const recent: (Pos | undefined)[] = [];
  return (offset: number): Pos => {
    const o = Math.min(Math.max(0, offset), text.length);
    const hit = recent[o & (CACHE_SLOTS - 1)];
    if (hit?.offset === o) return hit;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    const pos = { line: lo + 1, col: o - starts[lo]! + 1, offset: o };
    recent[o & (CACHE_SLOTS - 1)] = pos;
    return pos;
  };
}
