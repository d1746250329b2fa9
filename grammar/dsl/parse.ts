// The .scion front end: text → tokens → CST → AST, with every problem as a Diagnostic.
// Never throws on any input: the lexer skips what it cannot read, the parser recovers, bracket
// nesting is capped before parsing (the parser recurses per bracket) and expression depth while
// building the AST (later passes recurse per node).

import { EOF, type CstNode, type IRecognitionException, type IToken, type TokenType } from 'chevrotain';
import type { Expr, Pos, Program } from '../ast.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { diag } from '../diagnostics/make.ts';
import { attachComments } from './comments.ts';
import { lineLocator, spanOf, tokEnd, type Ctx } from './cst.ts';
import {
  Adapter,
  BadNum,
  BadStr,
  Import,
  Inherit,
  Layer,
  LBracket,
  LCurly,
  Let,
  lex,
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
import { programToAst } from './to-ast.ts';
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
  const lexed = lex(text);
  lexDiagnostics(ctx, text, lexed.tokens, lexed.errors);
  const tokens = capNesting(ctx, lexed.tokens);
  const program = stackGuard<Program>(ctx, text, { file, imports: [], decls: [] }, () => {
    const { roots, errors } = parseDeclarations(text, tokens);
    syntaxDiagnostics(ctx, text, errors, tokens.length < lexed.tokens.length);
    const top = programToAst(ctx, roots);
    const comments = attachComments(top, lexed.comments, tokens, text, ctx.locate);
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
  const lexed = lex(text);
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
 */
function parseDeclarations(text: string, tokens: IToken[]): { roots: CstNode[]; errors: IRecognitionException[] } {
  const parser = scionParser();
  const roots: CstNode[] = [];
  const errors: IRecognitionException[] = [];
  let start = 0;
  for (let round = 0; round <= MAX_RESYNC; round++) {
    parser.input = start === 0 ? tokens : tokens.slice(start);
    roots.push(parser.program());
    errors.push(...parser.errors);
    const stop = parser.errors.find((e) => e.name === 'NotAllInputParsedException');
    if (stop === undefined) break;
    let i = tokens.indexOf(stop.token, start) + 1;
    while (i > 0 && i < tokens.length && !(DECL_START.has(tokens[i]!.tokenType) && text.lastIndexOf('\n', tokens[i]!.startOffset) >= tokEnd(tokens[i - 1]!)))
      i++;
    if (i <= 0 || i >= tokens.length) break;
    start = i;
  }
  return { roots, errors };
}

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
  return { file, locate, diagnostics: [], here: 0, deepReported: false, exprNesting: 0 };
}

const describeChar = (ch: string): string => {
  const cp = ch.codePointAt(0) ?? 0;
  return cp < 0x20 || cp === 0x7f || (cp >= 0x80 && /\s|\p{C}/u.test(ch)) ? `U+${cp.toString(16).toUpperCase().padStart(4, '0')}` : `\`${ch}\``;
};

function lexDiagnostics(ctx: Ctx, text: string, tokens: readonly IToken[], errors: readonly { offset: number; length: number }[]): void {
  for (const e of errors) {
    const cp = text.codePointAt(e.offset);
    const ch = cp === undefined ? '' : String.fromCodePoint(cp);
    const more = e.length > ch.length ? ` (and ${e.length - ch.length} more)` : '';
    ctx.diagnostics.push(diag('E0101', spanOf(ctx, e.offset, e.offset + e.length), `unexpected character ${describeChar(ch)}${more}`));
  }
  for (const t of tokens) {
    if (t.tokenType === BadNum) {
      ctx.diagnostics.push(
        diag('E0104', spanOf(ctx, t.startOffset, tokEnd(t)), `invalid number \`${t.image}\``, {
          suggestion: 'write digits with an optional fraction, exponent and one suffix: `2k`, `1.5M`, `1e-4`',
        }),
      );
    } else if (t.tokenType.CATEGORIES?.includes(NumberLit) === true && readNumber(t.image) === undefined) {
      ctx.diagnostics.push(diag('E0104', spanOf(ctx, t.startOffset, tokEnd(t)), `number \`${t.image}\` is too large`));
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

/** Cuts the token stream where brackets nest too deeply, so the recursive parser stays shallow. */
function capNesting(ctx: Ctx, tokens: IToken[]): IToken[] {
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const tt = tokens[i]!.tokenType;
    if (tt === LParen || tt === LBracket || tt === LCurly) {
      if (++depth > MAX_NESTING) {
        const t = tokens[i]!;
        ctx.diagnostics.push(
          diag('E0106', spanOf(ctx, t.startOffset, tokEnd(t)), `brackets nest more than ${MAX_NESTING} levels deep`, {
            suggestion: 'split the expression into smaller pieces with `let`',
          }),
        );
        return tokens.slice(0, i);
      }
    } else if (tt === RParen || tt === RBracket || tt === RCurly) depth = Math.max(0, depth - 1);
  }
  return tokens;
}

function syntaxDiagnostics(ctx: Ctx, text: string, errors: readonly IRecognitionException[], truncated: boolean): void {
  const seen = new Set<string>();
  for (const e of errors) {
    const tok = e.token;
    const atEof = tok.tokenType === EOF || !Number.isFinite(tok.startOffset);
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
