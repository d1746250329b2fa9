// The checker's view of the language's one evaluator (grammar/eval/value.ts): constant values
// of parameters, repeat ranges, `require` conditions and argument literals come from there, so the
// checker and the compiler cannot disagree about one. What stays here is how messages describe an
// expression.

import type { Expr } from '../ast.ts';
import { refText } from '../eval/value.ts';

export { describeValue, type EvalResult, evalConst, type NotConst, notConstText, refText, type Value } from '../eval/value.ts';

/** How an expression is described in messages: "a string", "a call to `brown`". */
export function describe(e: Expr): string {
  switch (e.kind) {
    case 'num':
      return e.isInt ? `the integer ${e.text}` : `the number ${e.text}`;
    case 'str':
      return `the string "${e.value}"`;
    case 'bool':
      return `\`${e.value}\``;
    case 'ref':
      return `\`${refText(e)}\``;
    case 'call':
      return e.callee.kind === 'ref' ? `a call to \`${refText(e.callee)}\`` : 'a call';
    case 'list':
      return 'a list';
    case 'tuple':
      return 'a tuple';
    case 'record':
      return 'a record';
    case 'range':
      return 'a range';
    case 'named':
      return `an \`as\` expression`;
    case 'frozen':
      return `a frozen model`;
    default:
      return 'an expression';
  }
}
