// The .scion front end: text → tokens → CST → AST, with every problem as a Diagnostic.
// Never throws on any input: the lexer skips what it cannot read, the parser recovers, bracket
// nesting is capped before parsing (the parser recurses per bracket) and expression depth while
// building the AST (later passes recurse per node).

import { EOF, type CstNode, type IRecognitionException, type IToken, type TokenType } from 'chevrotain';
import type { Expr, Pos, Program } from '../ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { diag, noteAt } from '../diagnostics/make.ts';
import { attachComments } from './comments.ts';
import { children, extent, lineLocator, newSpanCache, spanOf, tokEnd, type Ctx } from './cst.ts';
import {
  Adapter,
  BadIdentifier,
  BadNum,
  BadStr,
  Import,
  Inherit,
  Layer,
  LBracket,
  LCurly,
  Let,
  lex,
  type LexResult,
  LParen,
  Model,
  NumberLit,
  Prune,
  RBracket,
  RCurly,
  RParen,
  Sample,
  StringLit,
  Train,
} from './lexer.ts';
import { decodeString, readNumber } from './literals.ts';
import { scionParser } from './parser.ts';
import { addTopItem, type TopLevel } from './to-ast.ts';
import { expr as exprToAst } from './to-ast-expr.ts';

/**
 * Deepest bracket nesting accepted: `(`, `[` and `{` together. Chevrotain's error recovery walks
 * the grammar recursively and overflows Node's default stack near 280 levels; 100 keeps a wide
 * margin (real specs nest fewer than 10).
 */
export const MAX_NESTING = 100;
/** Diagnostics reported per parse; the rest are summed up in one E0108. */
export const MAX_DIAGNOSTICS = 100;

export interface ParseResult {
  program: Program;
  diagnostics: Diagnostic[];
}

/**
 * Parses a .scion file. The program is complete when `diagnostics` is empty, and a best-effort
 * partial tree otherwise.
 *
 * @example parseProgram('model M() { output y = 1 }', 'm.scion').program.decls[0]?.kind // 'model'
 */
export function parseProgram(text: string, file: string): ParseResult {
  const ctx = newCtx(file, lineLocator(text));
  const lexed = dropStrayMarks(lex(text));
  lexDiagnostics(ctx, text, lexed.tokens, lexed.errors);
  const tokens = capNesting(ctx, lexed.tokens);
  // What comments.ts needs of the tokens, which the parse releases as it goes.
  const starts = Int32Array.from(tokens, (t) => t.startOffset);
  const program = stackGuard<Program>(ctx, text, { file, imports: [], decls: [] }, () => {
    // The AST's own diagnostics come after the syntax errors (as when the tree was built after
    // parsing), though each item is built as soon as it is parsed.
    const astCtx: Ctx = { ...ctx, diagnostics: [] };
    const top: TopLevel = { imports: [], decls: [] };
    const { errors, overflow } = parseDeclarations(text, tokens, (item) => addTopItem(astCtx, item, top));
    syntaxDiagnostics(ctx, text, errors, tokens.length < lexed.tokens.length);
    for (const d of astCtx.diagnostics) ctx.diagnostics.push(d);
    if (overflow !== undefined) throw overflow;
    const comments = attachComments(top, lexed.comments, starts, text, ctx.locate);
    return { file, imports: top.imports, decls: top.decls, ...comments };
  });
  return { program, diagnostics: finish(ctx) };
}

/**
 * Parses one expression; `locate` maps an offset in `text` to a position in `file` (the YAML
 * front end points into its scalars with it). `expr` is absent when there are errors.
 *
 * @example parseExpr('0.5 * kd(logits, T = 2)', 'x.yaml').expr?.kind // 'binary'
 */
export function parseExpr(text: string, file: string, locate?: (index: number) => Pos): { expr?: Expr; diagnostics: Diagnostic[] } {
  const ctx = newCtx(file, locate ?? lineLocator(text));
  const lexed = dropStrayMarks(lex(text));
  lexDiagnostics(ctx, text, lexed.tokens, lexed.errors);
  const tokens = capNesting(ctx, lexed.tokens);
  const e = stackGuard<Expr | undefined>(ctx, text, undefined, () => {
    const parser = scionParser();
    parser.input = tokens;
    const cst = parser.expr();
    syntaxDiagnostics(ctx, text, parser.errors, tokens.length < lexed.tokens.length);
    return exprToAst(ctx, cst).e;
  });
  const diagnostics = finish(ctx);
  return e === undefined || diagnostics.some((d) => d.severity === 'error') ? { diagnostics } : { expr: e, diagnostics };
}

const DECL_START: ReadonlySet<TokenType> = new Set([Model, Layer, Let, Import, Inherit, Prune, Adapter, Train, Sample]);
/** Re-synchronizations after a stray token at the top level; past this, the rest goes unread. */
const MAX_RESYNC = MAX_DIAGNOSTICS;

/**
 * Chevrotain's recovery ends the top-level loop at a token no declaration starts with. Then the
 * parse resumes at the next declaration keyword that begins a line, so one stray token does not
 * hide the errors (and declarations) after it.
 *
 * Each top-level item goes to `add` in source order as soon as it is parsed, and its CST and the
 * tokens before it are released then (the parser looks back one token at most, for error
 * messages), so at the end of a large file's parse its CST and tokens are not all alive beside
 * its AST (issue 19: they were 40 KB and 6 KB per small model). A stack overflow while building
 * an item stops the building (not the parse, whose errors still count) and comes back as
 * `overflow`, for the caller to raise once the syntax errors are in.
 */
function parseDeclarations(
  text: string,
  tokens: IToken[],
  add: (item: CstNode) => void,
): { errors: IRecognitionException[]; overflow: RangeError | undefined } {
  const parser = scionParser();
  const errors: IRecognitionException[] = [];
  const built = new WeakSet<CstNode>();
  let overflow: RangeError | undefined;
  const build = (item: CstNode): void => {
    built.add(item);
    if (overflow === undefined) {
      try {
        add(item);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        overflow = error;
      }
    }
    // Its AST is built: the CST under it is garbage now, and so are the tokens before its end.
    const end = extent(item)?.end;
    for (const key of Object.keys(item.children)) delete item.children[key];
    if (end === undefined) return;
    while (consumed < tokens.length && tokens[consumed]!.startOffset < end) consumed++;
    for (; released < consumed - KEEP_BEHIND; released++) {
      tokens[released] = RELEASED;
      if (vector !== tokens) vector[released - start] = RELEASED;
    }
  };
  let consumed = 0;
  let released = 0;
  let vector = tokens;
  let start = 0;
  parser.onTopItem = build;
  try {
    for (let round = 0; round <= MAX_RESYNC; round++) {
      vector = start === 0 ? tokens : tokens.slice(start);
      parser.input = vector;
      const root = parser.program();
      // An item cut short by an error that ended the round was attached without coming back
      // through `onTopItem`: it is the round's last.
      for (const item of children(root, 'topItem')) if (!built.has(item)) build(item);
      errors.push(...parser.errors);
      const stop = parser.errors.find((e) => e.name === 'NotAllInputParsedException');
      if (stop === undefined) break;
      let i = tokens.indexOf(stop.token, start) + 1;
      while (i > 0 && i < tokens.length && !(DECL_START.has(tokens[i]!.tokenType) && text.lastIndexOf('\n', tokens[i]!.startOffset) >= tokEnd(tokens[i - 1]!)))
        i++;
      if (i <= 0 || i >= tokens.length) break;
      start = i;
    }
  } finally {
    // The one parser outlives the parse: let go of the tokens (about 100 bytes each) with it.
    parser.onTopItem = undefined;
    parser.input = [];
  }
  return { errors, overflow };
}

/** Tokens kept behind the end of the last item built: the parser reads one (a margin of one). */
const KEEP_BEHIND = 2;
/**
 * What a released token's slot holds: the end of input, so a read by mistake cannot crash. It has
 * the lexer's token shape (fields, order, integer offset) so the parser's token reads stay
 * monomorphic: a NaN offset turned every token's map over and made parsing twice as slow.
 */
const RELEASED: IToken = { image: '', startOffset: -1, tokenTypeIdx: EOF.tokenTypeIdx!, tokenType: EOF };

/**
 * The last line of defence for "never throws": the caps above keep recursion far from the stack
 * limit, but a caller may already be deep in its own stack. A stack overflow (RangeError) becomes
 * one E0106 and an empty result; any other exception is a bug and propagates.
 */
function stackGuard<T>(ctx: Ctx, text: string, empty: T, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    ctx.diagnostics.push(diag('E0106', spanOf(ctx, 0, Math.min(text.length, 1)), 'the input nests too deeply to parse here'));
    return empty;
  }
}

function newCtx(file: string, locate: (offset: number) => Pos): Ctx {
  return { file, locate, diagnostics: [], here: 0, deepReported: false, exprNesting: 0, spans: newSpanCache() };
}

/** `é` (U+00E9) for what can be seen; U+200D alone for controls, format characters, marks and spaces. */
const describeChar = (ch: string): string => {
  const cp = ch.codePointAt(0) ?? 0;
  const code = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && /\s|\p{C}|\p{M}/u.test(ch))) return code;
  return cp < 0x80 ? `\`${ch}\`` : `\`${ch}\` (${code})`;
};

/**
 * A non-ASCII run with nothing of a name in it (a lone right-to-left mark, zero-width space or
 * combining accent between tokens) is an unexpected character, skipped like any other, rather
 * than a name the parser would then trip over.
 */
function dropStrayMarks(lexed: LexResult): LexResult {
  if (!lexed.tokens.some((t) => t.tokenType === BadIdentifier && !NAMEY.test(t.image))) return lexed;
  const errors = [...lexed.errors];
  const tokens = lexed.tokens.filter((t) => {
    if (t.tokenType !== BadIdentifier || NAMEY.test(t.image)) return true;
    errors.push({ offset: t.startOffset, length: tokEnd(t) - t.startOffset });
    return false;
  });
  errors.sort((a, b) => a.offset - b.offset);
  return { ...lexed, tokens, errors };
}
const NAMEY = /[\p{L}\p{N}\p{S}_]/u;

/**
 * E0109 for a name with a character outside ASCII, at that character. The suggestion is the name
 * with accents and invisible characters removed, where that leaves an ASCII name (`héllo` →
 * `hello`); a look-alike letter from another script (Cyrillic `е`) gets none, since dropping it
 * would suggest a different name.
 */
function nameDiagnostic(ctx: Ctx, t: IToken): void {
  const at = [...t.image].findIndex((ch) => ch.codePointAt(0)! >= 0x80);
  const chars = [...t.image];
  const offset = t.startOffset + chars.slice(0, at).join('').length;
  const ch = chars[at]!;
  const ascii = t.image.normalize('NFKD').replace(/\p{M}|\p{Cf}/gu, '');
  const suggestion = /^[A-Za-z_][A-Za-z0-9_]*$/.test(ascii)
    ? `write \`${ascii}\``
    : 'use ASCII letters, digits and `_` (non-ASCII text belongs in strings and comments)';
  ctx.diagnostics.push(
    diag(
      'E0109',
      spanOf(ctx, offset, offset + ch.length),
      `name \`${t.image}\` has ${describeChar(ch)}, a character outside ASCII; names are ASCII letters, digits and \`_\``,
      {
        suggestion,
      },
    ),
  );
}

function lexDiagnostics(ctx: Ctx, text: string, tokens: readonly IToken[], errors: readonly { offset: number; length: number }[]): void {
  for (const e of errors) {
    const cp = text.codePointAt(e.offset);
    const ch = cp === undefined ? '' : String.fromCodePoint(cp);
    const more = e.length > ch.length ? ` (and ${e.length - ch.length} more)` : '';
    ctx.diagnostics.push(diag('E0101', spanOf(ctx, e.offset, e.offset + e.length), `unexpected character ${describeChar(ch)}${more}`));
  }
  for (const t of tokens) {
    if (t.tokenType === BadIdentifier) nameDiagnostic(ctx, t);
    else if (t.tokenType === BadNum) {
      ctx.diagnostics.push(
        diag('E0104', spanOf(ctx, t.startOffset, tokEnd(t)), `invalid number \`${t.image}\``, {
          suggestion: 'write digits with an optional fraction, exponent and one suffix: `2k`, `1.5M`, `1e-4`',
        }),
      );
    } else if (t.tokenType.CATEGORIES?.includes(NumberLit) === true && readNumber(t.image) === undefined) {
      ctx.diagnostics.push(
        diag('E0104', spanOf(ctx, t.startOffset, tokEnd(t)), `number \`${t.image}\` is too large: a number is at most about 1.8e308 (a double)`),
      );
    } else if (t.tokenType.CATEGORIES?.includes(StringLit) === true) {
      if (t.tokenType === BadStr)
        ctx.diagnostics.push(
          diag('E0102', spanOf(ctx, t.startOffset, tokEnd(t)), 'unterminated string', { suggestion: 'close the string with `"` before the end of the line' }),
        );
      for (const bad of decodeString(t.image).errors) {
        const at = t.startOffset + bad.offset;
        ctx.diagnostics.push(
          diag('E0105', spanOf(ctx, at, at + bad.length), `invalid escape \`${bad.text}\` in string`, {
            suggestion: 'escapes are \\" \\\\ \\n \\t \\r and \\u{HEX}; write \\\\ for a backslash',
          }),
        );
      }
    }
  }
}

const CLOSER: ReadonlyMap<TokenType, string> = new Map([
  [LParen, ')'],
  [LBracket, ']'],
  [LCurly, '}'],
]);

/**
 * Cuts the token stream where brackets nest too deeply, so the recursive parser stays shallow; and
 * reports the first bracket left open (E0110) at the bracket itself. The parser only notices a
 * missing `)` where something else comes first — often lines later, or at the end of the file —
 * so without this the first error would point far from the fault.
 */
function capNesting(ctx: Ctx, tokens: IToken[]): IToken[] {
  const open: IToken[] = [];
  let reported = false;
  const unclosed = (opener: IToken, then: string, at?: IToken): void => {
    reported = true;
    const close = CLOSER.get(opener.tokenType)!;
    ctx.diagnostics.push(
      diag('E0110', spanOf(ctx, opener.startOffset, tokEnd(opener)), `\`${opener.image}\` is never closed: ${then}`, {
        ...(at === undefined ? {} : { notes: [noteAt(`the \`${at.image}\` that comes first`, spanOf(ctx, at.startOffset, tokEnd(at)))] }),
        suggestion: `close it with \`${close}\``,
      }),
    );
  };
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const tt = t.tokenType;
    if (CLOSER.has(tt)) {
      open.push(t);
      if (open.length > MAX_NESTING) {
        ctx.diagnostics.push(
          diag('E0106', spanOf(ctx, t.startOffset, tokEnd(t)), `brackets nest more than ${MAX_NESTING} levels deep`, {
            suggestion: 'split the expression into smaller pieces with `let`',
          }),
        );
        return tokens.slice(0, i);
      }
    } else if (tt === RParen || tt === RBracket || tt === RCurly) {
      const top = open.pop();
      if (top !== undefined && CLOSER.get(top.tokenType) !== t.image && !reported) unclosed(top, `a \`${t.image}\` comes first`, t);
    }
  }
  const last = open.at(-1);
  if (last !== undefined && !reported) unclosed(last, 'the file ends first');
  return tokens;
}

function syntaxDiagnostics(ctx: Ctx, text: string, errors: readonly IRecognitionException[], truncated: boolean): void {
  const seen = new Set<string>();
  for (const e of errors) {
    const tok = e.token;
    const atEof = tok.tokenType === EOF || !Number.isFinite(tok.startOffset);
    // A name outside ASCII where the grammar wants something else: its E0109 says why.
    if (!atEof && tok.tokenType === BadIdentifier) continue;
    // After a nesting cut, "found end of input" errors only echo the E0106 already reported.
    if (atEof && truncated) continue;
    let start: number;
    let end: number;
    if (!atEof) {
      start = tok.startOffset;
      end = tokEnd(tok);
    } else {
      const prev = (e as { previousToken?: IToken }).previousToken;
      start = prev !== undefined && Number.isFinite(prev.startOffset) && prev.tokenType !== EOF ? tokEnd(prev) : text.length;
      end = start;
    }
    const key = `${start}:${e.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ctx.diagnostics.push(diag('E0103', spanOf(ctx, start, end), e.message));
  }
}

/** Sorted by position; past MAX_DIAGNOSTICS, one E0108 stands for the rest. */
function finish(ctx: Ctx): Diagnostic[] {
  const all = [...ctx.diagnostics].sort((a, b) => a.span.start.offset - b.span.start.offset);
  if (all.length <= MAX_DIAGNOSTICS) return all;
  const first = all.slice(0, MAX_DIAGNOSTICS);
  const rest = all[MAX_DIAGNOSTICS]!;
  first.push(diag('E0108', rest.span, `too many errors; ${all.length - MAX_DIAGNOSTICS} more not shown`));
  return first;
}
