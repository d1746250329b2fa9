// The compiler's user errors are the evaluator's (grammar/eval/errors.ts): instantiation moved to
// grammar/ so the checker reports from it, and lowering throws the same type.

export { commandLineSpan, LowerError, nearest } from '../../grammar/eval/errors.ts';
