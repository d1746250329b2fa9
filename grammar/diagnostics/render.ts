// Human-readable diagnostics in the esbuild/rustc style, and the JSON form for `--json`:
//
//   specs/x.scion:5:7: error[E0301]: undefined name `hh`
//     5 │   h = hh + 1
//       │       ^^
//     = note: …
//     = help: did you mean `h`?
//
//   1 error

import type { Span } from '../ast.ts';
import type { Diagnostic, Severity } from './diagnostic.ts';

export interface RenderOptions {
  /** ANSI colors (for terminals). Default false. */
  color?: boolean;
}

const ANSI = { reset: '\x1b[0m', bold: '\x1b[1m', red: '\x1b[31m', yellow: '\x1b[33m', cyan: '\x1b[36m', blue: '\x1b[34m', green: '\x1b[32m' };

type Paint = (style: keyof typeof ANSI, text: string) => string;

const SEVERITY_STYLE: Record<Severity, keyof typeof ANSI> = { error: 'red', warning: 'yellow', note: 'cyan' };

/** Sort by file, then position, so output is stable whatever order checks ran in. */
export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  return [...diags].sort(
    (a, b) =>
      (a.span.file < b.span.file ? -1 : a.span.file > b.span.file ? 1 : 0) ||
      a.span.start.offset - b.span.start.offset ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}

export function countSeverities(diags: readonly Diagnostic[]): { errors: number; warnings: number } {
  let errors = 0;
  let warnings = 0;
  for (const d of diags) {
    if (d.severity === 'error') errors++;
    else if (d.severity === 'warning') warnings++;
  }
  return { errors, warnings };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `2 errors, 1 warning`; `no problems` when there are none. */
export function summaryLine(diags: readonly Diagnostic[]): string {
  const { errors, warnings } = countSeverities(diags);
  const parts: string[] = [];
  if (errors > 0) parts.push(plural(errors, 'error'));
  if (warnings > 0) parts.push(plural(warnings, 'warning'));
  return parts.length === 0 ? 'no problems' : parts.join(', ');
}

/** The lines of a text, without their line terminators (\n, \r\n). */
function lineOf(text: string, line: number): string | undefined {
  const lines = text.split('\n');
  const l = lines[line - 1];
  return l === undefined ? undefined : l.replace(/\r$/, '');
}

/** Tabs become one space each so the caret column stays aligned with the shown line. */
const detab = (s: string): string => s.replace(/\t/g, ' ');

function location(span: Span): string {
  return `${span.file}:${span.start.line}:${span.start.col}`;
}

/** The source excerpt: the span's first line with a gutter, and carets under the span. */
function excerpt(span: Span, text: string | undefined, paint: Paint): string[] {
  if (text === undefined) return [];
  const src = lineOf(text, span.start.line);
  if (src === undefined) return [];
  const shown = detab(src);
  const gutter = String(span.start.line);
  const pad = ' '.repeat(gutter.length);
  const startCol = Math.min(Math.max(span.start.col, 1), shown.length + 1);
  // A span over several lines is underlined to the end of its first line.
  const endCol = span.end.line === span.start.line ? Math.min(Math.max(span.end.col, startCol + 1), shown.length + 1) : shown.length + 1;
  const width = Math.max(1, endCol - startCol);
  const caret = ' '.repeat(startCol - 1) + '^'.repeat(width);
  return [`  ${paint('blue', gutter)} ${paint('blue', '│')} ${shown}`, `  ${pad} ${paint('blue', '│')} ${paint('green', caret)}`];
}

function renderOne(d: Diagnostic, sources: ReadonlyMap<string, string>, paint: Paint): string {
  const head = `${paint('bold', location(d.span))}: ${paint(SEVERITY_STYLE[d.severity], `${d.severity}[${d.code}]`)}: ${paint('bold', d.message)}`;
  const lines = [head, ...excerpt(d.span, sources.get(d.span.file), paint)];
  for (const n of d.notes) lines.push(`  = ${paint('cyan', 'note')}: ${n.message}${n.span ? ` (${location(n.span)})` : ''}`);
  if (d.suggestion !== undefined) lines.push(`  = ${paint('green', 'help')}: ${d.suggestion}`);
  return lines.join('\n');
}

/**
 * Every diagnostic as text, sorted by position, then a summary line.
 *
 * @example renderDiagnostics(result.diagnostics, result.sources) // "x.scion:3:5: error[E0301]: …"
 */
export function renderDiagnostics(diags: readonly Diagnostic[], sources: ReadonlyMap<string, string>, opts: RenderOptions = {}): string {
  const paint: Paint = opts.color === true ? (style, text) => `${ANSI[style]}${text}${ANSI.reset}` : (_style, text) => text;
  const blocks = sortDiagnostics(diags).map((d) => renderOne(d, sources, paint));
  return [...blocks, summaryLine(diags)].join('\n\n') + '\n';
}

export interface JsonNote {
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

/** One diagnostic as `--json` prints it: the field names every command's JSON output shares. */
export interface JsonDiagnostic {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: Severity;
  code: string;
  message: string;
  notes: JsonNote[];
  suggestion: string | null;
}

/** The `--json` form: plain objects with 1-based lines and columns, sorted like the text form. */
export function toJson(diags: readonly Diagnostic[]): JsonDiagnostic[] {
  return sortDiagnostics(diags).map((d) => ({
    file: d.span.file,
    line: d.span.start.line,
    column: d.span.start.col,
    endLine: d.span.end.line,
    endColumn: d.span.end.col,
    severity: d.severity,
    code: d.code,
    message: d.message,
    notes: d.notes.map((n) => (n.span ? { message: n.message, file: n.span.file, line: n.span.start.line, column: n.span.start.col } : { message: n.message })),
    suggestion: d.suggestion ?? null,
  }));
}
