// Tokens of the .scion language and the lexing pass that turns text into them.
//
// Keyword policy: only `true false as frozen when` are reserved (HARD). The first two are literals;
// the other three continue an expression (`Llama frozen`, `x as p`, `a when b`), so a name spelled
// like them after an expression would be ambiguous now that newlines are insignificant. Every other
// keyword is SOFT: it starts its declaration or statement, but is a plain name wherever a name is
// expected (field keys, argument names `from = 0`, record keys `sample = 0.5`, paths `brown.train`).

import { createToken, Lexer, type IToken, type TokenType } from 'chevrotain';

/** Any name: an identifier or a soft keyword. Matched by the parser wherever a name may stand. */
export const Name = createToken({ name: 'Name', pattern: Lexer.NA, label: 'a name' });
/** Every binary operator; precedence is resolved in to-ast.ts (one flat rule keeps recursion shallow). */
export const BinaryOp = createToken({ name: 'BinaryOp', pattern: Lexer.NA, label: 'an operator' });
export const PrefixOp = createToken({ name: 'PrefixOp', pattern: Lexer.NA, label: '`-` or `!`' });
export const NumberLit = createToken({ name: 'NumberLit', pattern: Lexer.NA, label: 'a number' });
export const StringLit = createToken({ name: 'StringLit', pattern: Lexer.NA, label: 'a string' });

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f\v\uFEFF]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /\/\/[^\n\r]*/, group: 'comments' });

export const Str = createToken({ name: 'Str', pattern: /"(?:[^"\\\n\r]|\\[^\n\r])*"/, categories: [StringLit], label: 'a string' });
/** A string cut off by the end of its line; reported as E0102 and parsed as a string. */
export const BadStr = createToken({ name: 'BadStr', pattern: /"(?:[^"\\\n\r]|\\[^\n\r])*\\?/, categories: [StringLit], label: 'a string' });

export const Num = createToken({
  name: 'Num',
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[kMG]?(?![A-Za-z0-9_])/,
  categories: [NumberLit],
  label: 'a number',
});
/** What starts like a number but is not one (`1e`, `2kk`, `3x`); reported as E0104. */
export const BadNum = createToken({
  name: 'BadNum',
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?)?[A-Za-z0-9_]*/,
  categories: [NumberLit],
  label: 'a number',
});

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, categories: [Name], label: 'a name' });
/**
 * A name with characters outside ASCII (`héllo`, `a\u200Db`, Cyrillic `а`, an emoji): reported as
 * E0109 at its first such character and parsed as a name, so one stray letter is one error — not
 * a cascade of syntax errors and undefined names. Names stay ASCII: they become parameter paths
 * in safetensors files and Hugging Face names, where look-alike letters and NFC/NFD spellings of
 * one name would be different keys. Non-ASCII whitespace is not part of it (the lexer reports it).
 */
// Non-ASCII characters that are not whitespace (JavaScript's \s) nor C1 controls, as ranges: the
// lexer's first-character optimization cannot analyse a complement set.
const NON_ASCII = '\\u00A1-\\u167F\\u1681-\\u1FFF\\u200B-\\u2027\\u202A-\\u202E\\u2030-\\u205E\\u2060-\\u2FFF\\u3001-\\uFEFE\\uFF00-\\uFFFF';
export const BadIdentifier = createToken({
  name: 'BadIdentifier',
  pattern: new RegExp(`[A-Za-z0-9_]*[${NON_ASCII}][A-Za-z0-9_${NON_ASCII}]*`),
  categories: [Name],
  label: 'a name',
});

const keyword = (word: string, soft: boolean, extra: TokenType[] = []): TokenType =>
  createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: new RegExp(word),
    longer_alt: [BadIdentifier, Identifier],
    categories: soft ? [Name, ...extra] : extra,
    label: `\`${word}\``,
  });

export const True = keyword('true', false);
export const False = keyword('false', false);
export const As = keyword('as', false);
export const Frozen = keyword('frozen', false);
export const When = keyword('when', false, [BinaryOp]);

export const Model = keyword('model', true);
export const Layer = keyword('layer', true);
export const Let = keyword('let', true);
export const Import = keyword('import', true);
export const Inherit = keyword('inherit', true);
export const From = keyword('from', true);
export const At = keyword('at', true);
export const Prune = keyword('prune', true);
export const To = keyword('to', true);
export const Adapter = keyword('adapter', true);
export const On = keyword('on', true);
export const Train = keyword('train', true);
export const Sample = keyword('sample', true);
export const Input = keyword('input', true);
export const Output = keyword('output', true);
export const Repeat = keyword('repeat', true);
export const In = keyword('in', true);
export const Require = keyword('require', true);
export const Param = keyword('param', true);
export const Return = keyword('return', true);
export const Preset = keyword('preset', true);

/** Reserved words: never a name. */
export const HARD_KEYWORDS: ReadonlySet<string> = new Set(['true', 'false', 'as', 'frozen', 'when']);

const op = (name: string, image: string, categories: TokenType[]): TokenType => createToken({ name, pattern: image, categories, label: `\`${image}\`` });

// Longer operators first: the lexer takes the first pattern that matches.
export const StarStar = op('StarStar', '**', [BinaryOp]);
export const EqEq = op('EqEq', '==', [BinaryOp]);
export const NotEq = op('NotEq', '!=', [BinaryOp]);
export const Le = op('Le', '<=', [BinaryOp]);
export const Ge = op('Ge', '>=', [BinaryOp]);
export const AndAnd = op('AndAnd', '&&', [BinaryOp]);
export const OrOr = op('OrOr', '||', [BinaryOp]);
export const DotDot = op('DotDot', '..', [BinaryOp]);
export const Lt = op('Lt', '<', [BinaryOp]);
export const Gt = op('Gt', '>', [BinaryOp]);
export const Plus = op('Plus', '+', [BinaryOp]);
export const Minus = op('Minus', '-', [BinaryOp, PrefixOp]);
export const Star = op('Star', '*', [BinaryOp]);
export const Slash = op('Slash', '/', [BinaryOp]);
export const Percent = op('Percent', '%', [BinaryOp]);
export const Bang = op('Bang', '!', [PrefixOp]);
export const Equals = op('Equals', '=', []);
export const Dot = op('Dot', '.', []);
export const Comma = op('Comma', ',', []);
export const Semi = op('Semi', ';', []);
export const Colon = op('Colon', ':', []);
export const LParen = op('LParen', '(', []);
export const RParen = op('RParen', ')', []);
export const LBracket = op('LBracket', '[', []);
export const RBracket = op('RBracket', ']', []);
export const LCurly = op('LCurly', '{', []);
export const RCurly = op('RCurly', '}', []);

export const ALL_TOKENS: TokenType[] = [
  WhiteSpace,
  Comment,
  Str,
  BadStr,
  Num,
  BadNum,
  True,
  False,
  As,
  Frozen,
  When,
  Model,
  Layer,
  Let,
  Import,
  Inherit,
  From,
  At,
  Prune,
  To,
  Adapter,
  On,
  Train,
  Sample,
  Input,
  Output,
  Repeat,
  In,
  Require,
  Param,
  Return,
  Preset,
  BadIdentifier,
  Identifier,
  StarStar,
  EqEq,
  NotEq,
  Le,
  Ge,
  AndAnd,
  OrOr,
  DotDot,
  Lt,
  Gt,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Bang,
  Equals,
  Dot,
  Comma,
  Semi,
  Colon,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LCurly,
  RCurly,
  Name,
  BinaryOp,
  PrefixOp,
  NumberLit,
  StringLit,
];

export const scionLexer = new Lexer(ALL_TOKENS, { positionTracking: 'onlyOffset', ensureOptimizations: true });

export interface LexError {
  offset: number;
  length: number;
}

export interface LexResult {
  tokens: IToken[];
  comments: IToken[];
  errors: LexError[];
}

export function lex(text: string): LexResult {
  const r = scionLexer.tokenize(text);
  return {
    tokens: r.tokens,
    comments: r.groups['comments'] ?? [],
    errors: r.errors.map((e) => ({ offset: e.offset, length: e.length })),
  };
}
