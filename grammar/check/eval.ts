// The checker's view of the language's one evaluator (grammar/eval/value.ts): constant values
// of parameters, repeat ranges, `require` conditions and argument literals come from there, so the
// checker and the compiler cannot disagree about one — and so does how a message describes an
// expression.

export {
  describeExpr as describe,
  describeValue,
  type EvalResult,
  evalConst,
  type NotConst,
  notConstText,
  refText,
  type Value,
} from '../eval/value.ts';
