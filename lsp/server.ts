// The language server: editor requests in, answers from the checker, the evaluator, `explain` and
// the formatter out. Each open document is analysed once per version (checkSource over the text
// and the files it imports, open documents before the disk) and every request reads that one
// analysis; diagnostics are published on open at once and on change after a 200 ms pause.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import {
  CompletionItemKind,
  type Connection,
  createConnection,
  type Diagnostic as LspDiagnostic,
  DiagnosticSeverity,
  type Location,
  TextDocumentSyncKind,
  TextDocuments,
  type TextEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Decl, Program } from '../grammar/ast.ts';
import { type CheckResult, checkSource, parseSource } from '../grammar/check/check-source.ts';
import type { Diagnostic } from '../grammar/diagnostics/diagnostic.ts';
import { HARD_KEYWORDS } from '../grammar/dsl/lexer.ts';
import { formatProgram } from '../grammar/dsl/format.ts';
import { parseProgram } from '../grammar/dsl/parse.ts';
import { formOf } from '../grammar/load.ts';
import { MODELINE_PREFIX } from '../grammar/yaml/forms.ts';
import { loadYaml } from '../grammar/yaml/load.ts';
import { printYaml } from '../grammar/yaml/print.ts';
import { resolvePath } from '../grammar/resolve.ts';
import { preflightProgram } from '../jobs/inherit/spec/preflight.ts';
import { checkLowered } from '../compiler/lower/check-lowered.ts';
import { completionItems, type ItemKind } from './completion.ts';
import { hoverText } from './hover.ts';
import { cachedParse } from './parse-cache.ts';
import { offsetAt, toRange } from './positions.ts';
import { indexSymbols, occurrenceAt, occurrencesOf, type SymbolIndex } from './symbols.ts';

/** Pause after the last keystroke before a document is checked again. */
export const DEBOUNCE_MS = 200;

const RENAMABLE = new Set(['model', 'binding', 'layer', 'local']);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const SEVERITY = { error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning, note: DiagnosticSeverity.Information } as const;
const ITEM_KIND: Record<ItemKind, CompletionItemKind> = {
  function: CompletionItemKind.Function,
  class: CompletionItemKind.Class,
  field: CompletionItemKind.Field,
  variable: CompletionItemKind.Variable,
  property: CompletionItemKind.Property,
  keyword: CompletionItemKind.Keyword,
};

interface Analysis {
  version: number;
  file: string;
  result: CheckResult;
  index: SymbolIndex;
}

const fileOf = (uri: string): string => (uri.startsWith('file:') ? fileURLToPath(uri) : uri);
const uriOf = (file: string): string => (file.startsWith('/') ? pathToFileURL(file).href : file);

/** One program per file, rebuilt from the merged declarations (each keeps its file in its span). */
function programsOf(decls: readonly Decl[]): Program[] {
  const byFile = new Map<string, Decl[]>();
  for (const d of decls) byFile.set(d.span.file, [...(byFile.get(d.span.file) ?? []), d]);
  return [...byFile].map(([file, ds]) => ({ file, imports: [], decls: ds }));
}

function toLsp(d: Diagnostic): LspDiagnostic {
  const related = d.notes
    .filter((n) => n.span !== undefined)
    .map((n) => ({ location: { uri: uriOf(n.span!.file), range: toRange(n.span!) }, message: n.message }));
  return {
    range: toRange(d.span),
    severity: SEVERITY[d.severity],
    code: d.code,
    source: 'scion',
    message: d.suggestion === undefined ? d.message : `${d.message}\n${d.suggestion}`,
    ...(related.length > 0 ? { relatedInformation: related } : {}),
  };
}

/**
 * A problem in an imported file, shown at the import that brings it in (the direct one, or the
 * first import for a file reached through another), pointing at its own place in that file.
 */
function inImports(result: CheckResult, file: string): Diagnostic[] {
  const imports = result.program.imports;
  const first = imports[0];
  if (first === undefined) return [];
  return result.diagnostics
    .filter((d) => d.span.file !== file)
    .map((d) => {
      const via = imports.find((i) => resolvePath(file, i.path.value) === d.span.file) ?? first;
      const where = `${relative(dirname(file), d.span.file)}:${d.span.start.line}:${d.span.start.col}`;
      return { ...d, span: via.span, message: `in ${where}: ${d.message}`, notes: [{ message: d.message, span: d.span }, ...d.notes] };
    });
}

/** Serves one editor over the given streams; resolves when the editor sends `exit`. */
export function serve(input: Readable, output: Writable, cwd: string): Promise<void> {
  const connection: Connection = createConnection(input, output);
  const documents = new TextDocuments(TextDocument);
  const analyses = new Map<string, Analysis>();
  const timers = new Map<string, NodeJS.Timeout>();
  // Files (open or imported) whose text is unchanged are not parsed again.
  const parse = cachedParse(parseSource);

  const readFile = (path: string): string | undefined => {
    const open = documents.get(uriOf(path));
    if (open !== undefined) return open.getText();
    return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  };

  const analyse = (doc: TextDocument): Analysis => {
    const cached = analyses.get(doc.uri);
    if (cached !== undefined && cached.version === doc.version) return cached;
    const file = fileOf(doc.uri);
    const result = checkSource(doc.getText(), file, readFile, { parse });
    const analysis = { version: doc.version, file, result, index: indexSymbols(programsOf(result.decls)) };
    analyses.set(doc.uri, analysis);
    return analysis;
  };

  const publish = async (uri: string): Promise<void> => {
    try {
      await publishNow(uri);
    } catch (error) {
      // A bug in a check is a bug, but it must not take the editor's server down with it.
      connection.console.error(`scion lsp: checking ${uri} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  };

  const publishNow = async (uri: string): Promise<void> => {
    const doc = documents.get(uri);
    if (doc === undefined) return;
    const { file, result, version } = analyse(doc);
    const own = result.diagnostics.filter((d) => d.span.file === file);
    own.push(...inImports(result, file));
    // Once the spec is clean: what only lowering knows (sizes, loss shapes), as `scion check`
    // reports it, and the pre-flight against parent checkpoints that exist (headers only).
    if (!result.diagnostics.some((d) => d.severity === 'error')) {
      own.push(...checkLowered({ file, imports: [], decls: result.decls }).filter((d) => d.span.file === file));
      try {
        own.push(...(await preflightProgram(programsOf(result.decls), { cwd })).filter((d) => d.span.file === file));
      } catch {
        // An unreadable checkpoint is the job's error to report, not the editor's.
      }
    }
    if (documents.get(uri)?.version !== version) return; // a newer edit will publish
    await connection.sendDiagnostics({ uri, version, diagnostics: own.map(toLsp) });
  };

  const schedule = (uri: string, delay: number): void => {
    clearTimeout(timers.get(uri));
    timers.set(
      uri,
      setTimeout(() => {
        timers.delete(uri);
        void publish(uri);
      }, delay),
    );
  };

  connection.onInitialize(() => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      definitionProvider: true,
      referencesProvider: true,
      documentFormattingProvider: true,
      renameProvider: { prepareProvider: true },
      completionProvider: { triggerCharacters: ['(', ' ', ','] },
    },
    serverInfo: { name: 'scion', version: '0.1.0' },
  }));

  // Fired on open too: a document seen for the first time is checked at once, an edit after a pause.
  documents.onDidChangeContent((e) => {
    schedule(e.document.uri, analyses.has(e.document.uri) ? DEBOUNCE_MS : 0);
    // Open documents that import this one are checked again too.
    const changed = fileOf(e.document.uri);
    for (const [uri, a] of analyses) {
      if (uri === e.document.uri || !a.result.sources.has(changed)) continue;
      analyses.delete(uri);
      schedule(uri, DEBOUNCE_MS);
    }
  });
  documents.onDidClose((e) => {
    clearTimeout(timers.get(e.document.uri));
    analyses.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  /** The document, its analysis and the symbol under an LSP position. */
  const at = (uri: string, position: { line: number; character: number }) => {
    const doc = documents.get(uri);
    if (doc === undefined) return undefined;
    const analysis = analyse(doc);
    const offset = offsetAt(doc.getText(), position);
    return { doc, analysis, offset, occurrence: occurrenceAt(analysis.index, analysis.file, offset) };
  };
  const location = (span: Parameters<typeof toRange>[0]): Location => ({ uri: uriOf(span.file), range: toRange(span) });

  connection.onHover(({ textDocument, position }) => {
    const here = at(textDocument.uri, position);
    if (here?.occurrence === undefined) return null;
    const value = hoverText(here.occurrence, here.analysis.result.decls, here.analysis.file);
    return value === undefined ? null : { contents: { kind: 'markdown', value }, range: toRange(here.occurrence.span) };
  });

  connection.onDefinition(({ textDocument, position }) => {
    const here = at(textDocument.uri, position);
    const o = here?.occurrence;
    if (here === undefined || o === undefined) return null;
    // A path string may name `as` paths of several models (an inherit's child and parent): all of them.
    const keys = new Set(here.analysis.index.occurrences.filter((x) => x.span === o.span).map((x) => x.key));
    const defs = [...keys].flatMap((k) => here.analysis.index.defs.get(k) ?? []);
    if (defs.length === 0) return null;
    return defs.length === 1 ? location((defs[0] as { span: Parameters<typeof location>[0] }).span) : defs.map((d) => location(d.span));
  });

  connection.onReferences(({ textDocument, position, context }) => {
    const here = at(textDocument.uri, position);
    if (here?.occurrence === undefined || here.occurrence.kind === 'field') return [];
    return occurrencesOf(here.analysis.index, here.occurrence.key)
      .filter((o) => context.includeDeclaration || !o.def)
      .map((o) => location(o.span));
  });

  connection.onPrepareRename(({ textDocument, position }) => {
    const o = at(textDocument.uri, position)?.occurrence;
    return o !== undefined && RENAMABLE.has(o.kind) ? { range: toRange(o.span), placeholder: o.name } : null;
  });

  connection.onRenameRequest(({ textDocument, position, newName }) => {
    const here = at(textDocument.uri, position);
    const o = here?.occurrence;
    if (here === undefined || o === undefined || !RENAMABLE.has(o.kind) || !NAME.test(newName) || HARD_KEYWORDS.has(newName)) return null;
    const changes: Record<string, TextEdit[]> = {};
    for (const x of occurrencesOf(here.analysis.index, o.key)) (changes[uriOf(x.span.file)] ??= []).push({ range: toRange(x.span), newText: newName });
    const edit: WorkspaceEdit = { changes };
    return edit;
  });

  connection.onCompletion(({ textDocument, position }) => {
    const doc = documents.get(textDocument.uri);
    if (doc === undefined) return [];
    const decls = analyses.get(doc.uri)?.result.decls ?? analyse(doc).result.decls;
    return completionItems(doc.getText(), offsetAt(doc.getText(), position), decls).map((i) => ({
      label: i.label,
      kind: ITEM_KIND[i.kind],
      ...(i.detail === undefined ? {} : { detail: i.detail }),
      ...(i.insertText === undefined ? {} : { insertText: i.insertText }),
    }));
  });

  connection.onDocumentFormatting(({ textDocument }) => {
    const doc = documents.get(textDocument.uri);
    const file = fileOf(textDocument.uri);
    if (doc === undefined) return [];
    // The canonical form of each front end (`scion fmt`'s; for YAML, `scion convert`'s printer,
    // keeping the file's schema modeline); text its front end reports errors in is never rewritten.
    const text = doc.getText();
    const yaml = formOf(file) === 'yaml';
    const { program, diagnostics } = yaml ? loadYaml(text, file) : parseProgram(text, file);
    if (diagnostics.some((d) => d.severity === 'error') || (!yaml && diagnostics.length > 0)) return [];
    const modeline = text
      .split('\n')
      .find((l) => l.startsWith('#') && l.includes(MODELINE_PREFIX))
      ?.split(MODELINE_PREFIX)[1]
      ?.trim();
    const out = yaml ? printYaml(program, modeline === undefined ? {} : { schemaPath: modeline }) : formatProgram(program);
    if (out === text) return [];
    return [{ range: { start: { line: 0, character: 0 }, end: doc.positionAt(text.length) }, newText: out }];
  });

  documents.listen(connection);
  return new Promise((resolve) => {
    connection.onExit(() => {
      for (const t of timers.values()) clearTimeout(t);
      resolve();
    });
    connection.listen();
  });
}
