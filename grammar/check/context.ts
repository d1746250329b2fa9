// Shared state of one check run: the top-level symbol table (all files merged), the diagnostics
// collected so far, and facts that later checks need (which names were read, which models are
// initialized). Checks are small functions of (decl, ctx) that only add diagnostics and facts.

import type { AdapterDecl, BindingDecl, Decl, DerivedModelDecl, Ident, LayerDecl, ModelDecl, PruneDecl, Span } from '../ast.ts';
import type { Code } from '../diagnostics/catalog.ts';
import type { Diagnostic } from '../diagnostics/diagnostic.ts';
import { diag, type DiagExtra } from '../diagnostics/make.ts';

/** What a top-level name denotes. A pruned model (`prune A to B`) is a model named B. */
export type TopSymbol =
  | { kind: 'model'; decl: ModelDecl; name: Ident }
  | { kind: 'derived'; decl: DerivedModelDecl; name: Ident }
  | { kind: 'pruned'; decl: PruneDecl; name: Ident }
  | { kind: 'layer'; decl: LayerDecl; name: Ident }
  | { kind: 'binding'; decl: BindingDecl; name: Ident }
  | { kind: 'adapter'; decl: AdapterDecl; name: Ident };

export const SYMBOL_WORD: Record<TopSymbol['kind'], string> = {
  model: 'a model',
  derived: 'a model',
  pruned: 'a pruned model',
  layer: 'a layer',
  binding: 'a `let` binding',
  adapter: 'an adapter',
};

export const isModelSymbol = (s: TopSymbol | undefined): boolean => s !== undefined && (s.kind === 'model' || s.kind === 'derived' || s.kind === 'pruned');

export class CheckContext {
  readonly diagnostics: Diagnostic[] = [];
  /** First declaration of each top-level name (later duplicates are reported, not stored). */
  readonly symbols = new Map<string, TopSymbol>();
  /** Names of model-body lets and params read anywhere, keyed by the declaring ModelDecl. */
  readonly bodyReads = new Map<ModelDecl, Set<string>>();
  /** Top-level `let` bindings read by any declaration. */
  readonly bindingReads = new Set<string>();
  private readonly seen = new Set<string>();

  constructor(readonly decls: readonly Decl[]) {}

  /** Adds a diagnostic unless an identical one (code, place, message) was already reported. */
  report(code: Code, span: Span, message: string, extra: DiagExtra = {}): void {
    const key = `${code}\u0000${span.file}\u0000${span.start.offset}\u0000${span.end.offset}\u0000${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.diagnostics.push(diag(code, span, message, extra));
  }

  /** Appends diagnostics made elsewhere (extension checks), with the same de-duplication. */
  add(d: Diagnostic): void {
    const key = `${d.code}\u0000${d.span.file}\u0000${d.span.start.offset}\u0000${d.span.end.offset}\u0000${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.diagnostics.push(d);
  }

  markBodyRead(model: ModelDecl, name: string): void {
    let set = this.bodyReads.get(model);
    if (set === undefined) this.bodyReads.set(model, (set = new Set()));
    set.add(name);
  }

  /** Names of every model (for did-you-mean in model positions). */
  modelNames(): string[] {
    return [...this.symbols.values()].filter((s) => isModelSymbol(s)).map((s) => s.name.name);
  }

  userLayer(name: string): LayerDecl | undefined {
    const s = this.symbols.get(name);
    return s?.kind === 'layer' ? s.decl : undefined;
  }
}
