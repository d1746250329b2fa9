// One way to build a Diagnostic: the severity comes from the catalog, so a code and its severity
// can never disagree.

import type { Span } from '../ast.ts';
import { DIAGNOSTICS, type Code } from './catalog.ts';
import type { Diagnostic, Related } from './diagnostic.ts';

export interface DiagExtra {
  notes?: Related[];
  suggestion?: string | undefined;
}

export function diag(code: Code, span: Span, message: string, extra: DiagExtra = {}): Diagnostic {
  const d: Diagnostic = { code, severity: DIAGNOSTICS[code].severity, message, span, notes: extra.notes ?? [] };
  if (extra.suggestion !== undefined) d.suggestion = extra.suggestion;
  return d;
}

/** A note without a location. */
export const note = (message: string): Related => ({ message });

/** A note pointing at another place ("first defined here"). */
export const noteAt = (message: string, span: Span): Related => ({ message, span });
