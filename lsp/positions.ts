// Scion spans are 1-based line/col in UTF-16 code units (grammar/ast.ts); LSP positions are
// 0-based line/character in UTF-16 code units. Both count the same units, so a conversion is a
// shift by one — no re-measuring of the text, which is where non-ASCII lines go wrong.

import type { Pos, Span } from '../grammar/ast.ts';

/** An LSP position: 0-based line and UTF-16 character. */
export interface LspPosition {
  line: number;
  character: number;
}
export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

export const toPosition = (p: Pos): LspPosition => ({ line: Math.max(0, p.line - 1), character: Math.max(0, p.col - 1) });
export const toRange = (s: Span): LspRange => ({ start: toPosition(s.start), end: toPosition(s.end) });

/** The UTF-16 offset of an LSP position in `text` (clamped to the line's end and the text). */
export function offsetAt(text: string, pos: LspPosition): number {
  let offset = 0;
  for (let line = 0; line < pos.line; line++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  const eol = text.indexOf('\n', offset);
  const end = eol < 0 ? text.length : eol;
  return Math.min(offset + pos.character, end);
}

/** Whether a span contains the 0-based offset (end inclusive, so a cursor right after a name counts). */
export const spanHas = (s: Span, offset: number): boolean => s.start.offset <= offset && offset <= s.end.offset;
