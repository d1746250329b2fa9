// Attaching `//` comments to the AST (see `Commented` in ast.ts):
// - a comment that ends a line holding the start of a statement, field, declaration or import is
//   that node's `trailing` comment (the innermost such node);
// - every other comment is `leading` for the next such node in the text, or — with nothing after
//   it — one of the program's `trailingComments`;
// - comments before the first token that are followed by a blank line form the file's `header`.
// The formatter prints exactly these places back, so formatting is idempotent.

import type { IToken } from 'chevrotain';
import type { Commented, Decl, Import, Pos, Stmt } from '../ast.ts';
import type { TopLevel } from './to-ast.ts';

interface Site {
  node: Commented;
  offset: number;
  line: number;
}

/** The text of a comment token: without `//`, one following space, and trailing blanks. */
export function commentText(image: string): string {
  const body = image.slice(2);
  return (body.startsWith(' ') ? body.slice(1) : body).trimEnd();
}

function collectSites(top: TopLevel): Site[] {
  const sites: Site[] = [];
  const add = (node: Commented & { span: { start: Pos } }): void => {
    sites.push({ node, offset: node.span.start.offset, line: node.span.start.line });
  };
  const addStmts = (stmts: Stmt[]): void => {
    // Explicit stack: repeat bodies nest, and this must not recurse per level.
    const stack: Stmt[] = [...stmts].reverse();
    while (stack.length > 0) {
      const s = stack.pop()!;
      add(s);
      if (s.kind === 'repeat') for (let i = s.body.length - 1; i >= 0; i--) stack.push(s.body[i]!);
    }
  };
  top.imports.forEach((i: Import) => add(i));
  top.decls.forEach((d: Decl) => {
    add(d);
    if (d.kind === 'model' || d.kind === 'layer') addStmts(d.body);
    else if (d.kind !== 'derived' && d.kind !== 'binding') d.fields.forEach(add);
  });
  // Imports and declarations interleave in the text; a stable sort keeps parents before children.
  return sites.sort((a, b) => a.offset - b.offset);
}

/** Index of the first site with offset > `offset` (sites sorted by offset). */
function firstAfter(sites: Site[], offset: number): number {
  let lo = 0;
  let hi = sites.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sites[mid]!.offset > offset) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Whether the text between two offsets holds a blank line (two line breaks). */
const hasBlankLine = (text: string, from: number, to: number): boolean => {
  const i = text.indexOf('\n', from);
  return i !== -1 && i < to && text.indexOf('\n', i + 1) !== -1 && text.indexOf('\n', i + 1) < to;
};

export function attachComments(
  top: TopLevel,
  comments: readonly IToken[],
  tokenStarts: ArrayLike<number>,
  text: string,
  locate: (offset: number) => Pos,
): { header?: string[]; trailingComments?: string[] } {
  if (comments.length === 0) return {};
  const sites = collectSites(top);
  const header: string[] = [];
  const trailing: string[] = [];
  const firstTok = tokenStarts.length > 0 ? tokenStarts[0] : undefined;
  let start = 0;
  if (firstTok !== undefined && sites.length > 0) {
    // The header ends at the last blank line among the comments before the first token.
    const before = comments.filter((c) => c.startOffset < firstTok);
    let k = -1;
    for (let i = 0; i < before.length; i++) {
      const next = before[i + 1]?.startOffset ?? firstTok;
      if (hasBlankLine(text, before[i]!.startOffset, next)) k = i;
    }
    for (let i = 0; i <= k; i++) header.push(commentText(before[i]!.image));
    start = k + 1;
  }
  let tokIdx = 0;
  for (let ci = start; ci < comments.length; ci++) {
    const c = comments[ci]!;
    const text_ = commentText(c.image);
    const line = locate(c.startOffset).line;
    while (tokIdx < tokenStarts.length && tokenStarts[tokIdx]! < c.startOffset) tokIdx++;
    const prevTok = tokIdx > 0 ? tokenStarts[tokIdx - 1] : undefined;
    if (prevTok !== undefined && locate(prevTok).line === line) {
      // End-of-line comment: the innermost node starting on this line, before the comment.
      let i = firstAfter(sites, c.startOffset) - 1;
      while (i >= 0 && sites[i]!.line === line && sites[i]!.node.trailing !== undefined) i--;
      const site = i >= 0 ? sites[i] : undefined;
      if (site !== undefined && site.line === line) {
        site.node.trailing = text_;
        continue;
      }
    }
    const next = sites[firstAfter(sites, c.startOffset)];
    if (next === undefined) trailing.push(text_);
    else (next.node.leading ??= []).push(text_);
  }
  const out: { header?: string[]; trailingComments?: string[] } = {};
  if (header.length > 0) out.header = header;
  if (trailing.length > 0) out.trailingComments = trailing;
  return out;
}
