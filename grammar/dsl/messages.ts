// Syntax error messages: always "expected X, found Y", where Y is the token's own text.

import { EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from 'chevrotain';

const MAX_SHOWN = 24;

/** How a found token reads in a message: its text in backticks, or "end of input". */
export function describeToken(tok: IToken | undefined): string {
  if (tok === undefined || tok.tokenType === EOF) return 'end of input';
  const image = tok.image.length > MAX_SHOWN ? `${tok.image.slice(0, MAX_SHOWN)}…` : tok.image;
  return `\`${image}\``;
}

function describeType(t: TokenType): string {
  if (t === EOF) return 'end of input';
  return t.LABEL ?? `\`${t.name}\``;
}

/** `a`, `a or b`, `a, b or c` — each alternative once, in grammar order. */
function oneOf(descriptions: string[]): string {
  const unique = [...new Set(descriptions)];
  if (unique.length <= 1) return unique[0] ?? 'something else';
  return `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1]!}`;
}

const firstTokens = (paths: TokenType[][]): string[] => paths.flatMap((p) => (p[0] === undefined ? [] : [describeType(p[0])]));

export const errorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    if (expected === EOF) return errorMessages.buildNotAllInputParsedMessage({ firstRedundant: actual, ruleName });
    return `expected ${describeType(expected)}, found ${describeToken(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant, ruleName }) {
    const what =
      ruleName === 'program'
        ? 'a declaration (`model`, `layer`, `let`, `import`, `inherit`, `prune`, `adapter`, `train` or `sample`)'
        : 'the end of the expression';
    return `expected ${what}, found ${describeToken(firstRedundant)}`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, customUserDescription }) {
    const what = customUserDescription ?? oneOf(expectedPathsPerAlt.flatMap(firstTokens));
    return `expected ${what}, found ${describeToken(actual[0])}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, customUserDescription }) {
    const what = customUserDescription ?? oneOf(firstTokens(expectedIterationPaths));
    return `expected ${what}, found ${describeToken(actual[0])}`;
  },
};
