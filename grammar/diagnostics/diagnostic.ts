// User errors are data: every problem found in a spec is a Diagnostic, never an exception.
// Codes live in one catalog (catalog.ts) with a doc line each; docs/diagnostics.md is generated
// from it and checked by a test.

import type { Span } from '../ast.ts';

export type Severity = 'error' | 'warning' | 'note';

export interface Related {
  message: string;
  span?: Span;
}

export interface Diagnostic {
  code: string; // e.g. 'E0101', a key of DIAGNOSTICS
  severity: Severity;
  message: string;
  span: Span;
  notes: Related[];
  /** A concrete fix: "did you mean `heads`?", "write `dim = 256`". */
  suggestion?: string;
}
