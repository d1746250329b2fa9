// What the playground shows for the text in its editor, computed in the page on every pause in
// typing: the checker's diagnostics (grammar/check, as `scion check` reports them), then for a
// clean spec the `explain` report of the model it trains (compiler/explain.ts, the table `scion
// explain` prints) and a picture of its layers. Pure: the page bundles it, the tests call it in Node.

import type { Program } from '../grammar/ast.ts';
import { checkSource } from '../grammar/check/check-source.ts';
import { checkLowered } from '../compiler/lower/check-lowered.ts';
import type { Diagnostic, Severity } from '../grammar/diagnostics/diagnostic.ts';
import { LowerError } from '../grammar/eval/errors.ts';
import { explainModel, formatReport, type ModelReport } from '../compiler/explain.ts';
import { findTrain } from '../compiler/lower/lower-train-config.ts';
import { layerGraphSvg } from './graph-svg.ts';

/** The file name spans carry: the page edits one unsaved spec, which imports nothing. */
export const PLAYGROUND_FILE = 'playground.scion';

export interface PageDiagnostic {
  /** UTF-16 offsets into the text, `to` > `from` (a point widened to one character). */
  from: number;
  to: number;
  /** 1-based, as `scion check` prints it. */
  line: number;
  col: number;
  severity: Severity;
  code: string;
  /** The message, and the suggestion on its own line where there is one. */
  message: string;
}

export interface Analysis {
  diagnostics: PageDiagnostic[];
  program: Program;
  /** The model the page explains and trains: the target of the first `train`, else the last model. */
  model?: string;
  /** Whether `model` has a `train` declaration (the Run button needs one). */
  trainable: boolean;
  report?: ModelReport;
  /** `scion explain`'s table of `report`. */
  table?: string;
  graphSvg?: string;
  /** Why there is no report although the checker found no error (a lowering error). */
  explainError?: string;
}

function onPage(d: Diagnostic, text: string): PageDiagnostic {
  const from = Math.min(d.span.start.offset, text.length);
  return {
    from,
    to: Math.max(Math.min(d.span.end.offset, text.length), Math.min(from + 1, text.length)),
    line: d.span.start.line,
    col: d.span.start.col,
    severity: d.severity,
    code: d.code,
    message: d.suggestion === undefined ? d.message : `${d.message}\n${d.suggestion}`,
  };
}

export function analyze(text: string): Analysis {
  const r = checkSource(text, PLAYGROUND_FILE, () => undefined);
  const clean = !r.diagnostics.some((d) => d.severity === 'error');
  // What only lowering knows (sizes, loss shapes) once the spec is clean, as `scion check` reports it.
  const lowered = clean ? checkLowered({ file: PLAYGROUND_FILE, imports: [], decls: r.decls }) : [];
  const diagnostics = [...r.diagnostics, ...lowered].filter((d) => d.span.file === PLAYGROUND_FILE).map((d) => onPage(d, text));
  const models = r.program.decls.filter((d) => d.kind === 'model' || d.kind === 'derived').map((d) => d.name.name);
  const train = findTrain(r.program);
  const model = train?.target.name ?? models.at(-1);
  const out: Analysis = { diagnostics, program: r.program, trainable: train !== undefined, ...(model === undefined ? {} : { model }) };
  if (model === undefined || !clean || lowered.some((d) => d.severity === 'error')) return out;
  try {
    const report = explainModel(r.program, model, { dims: { batch: 1 } });
    return { ...out, report, table: formatReport(report), graphSvg: layerGraphSvg(report) };
  } catch (error) {
    // The checker passes what lowering may still refuse (a shape only known once lowered).
    if (!(error instanceof LowerError)) throw error;
    const d = error.diagnostic;
    return { ...out, explainError: error.message, diagnostics: d.span.file === PLAYGROUND_FILE ? [...diagnostics, onPage(d, text)] : diagnostics };
  }
}
