// Instantiation is the language's one evaluator and lives in grammar/eval/ (the checker reports
// from it too); lowering imports it from here.

export * from '../../grammar/eval/instantiate.ts';
