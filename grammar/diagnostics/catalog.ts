// Every diagnostic code, with the one-line doc that docs/diagnostics.md shows.
// Ranges: E01xx lexing and parsing, E02xx YAML, E03xx names, E04xx calls and values,
// E05xx shapes and dimensions, E06xx inheritance, prune and adapters, E07xx training and sampling,
// E08xx checkpoints and files (pre-flight), W….. warnings.

export interface CodeInfo {
  readonly severity: 'error' | 'warning';
  readonly title: string;
  readonly doc: string;
}

const e = (title: string, doc: string): CodeInfo => ({ severity: 'error', title, doc });
const w = (title: string, doc: string): CodeInfo => ({ severity: 'warning', title, doc });

export const DIAGNOSTICS = {
  E0101: e('unexpected character', 'A character that no token of the language starts with.'),
  E0102: e('unterminated string', 'A string literal runs to the end of its line without a closing quote.'),
  E0103: e('syntax error', 'The parser expected one construct and found another; the message names both.'),
  E0104: e('invalid number', 'A numeric literal that cannot be read, such as `1e` or `2kk`.'),
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof DIAGNOSTICS;

// Silence "unused" for w until warnings are added by the checks.
void w;
