// Whole-program checks: the top-level symbol table (duplicates), and the checks that need every
// declaration seen first — unused names, duplicate train/sample targets, uninitialized weights.

import type { Decl, Ident, Span } from '../ast.ts';
import { lookup } from '../library/signatures.ts';
import { noteAt } from '../diagnostics/make.ts';
import { cycleError, findCycles } from '../eval/cycles.ts';
import { bodyLets } from './bodies.ts';
import type { CheckContext, TopSymbol } from './context.ts';
import { declIndex } from './models.ts';

function symbolOf(d: Decl): TopSymbol | undefined {
  switch (d.kind) {
    case 'model':
      return { kind: 'model', decl: d, name: d.name };
    case 'derived':
      return { kind: 'derived', decl: d, name: d.name };
    case 'layer':
      return { kind: 'layer', decl: d, name: d.name };
    case 'binding':
      return { kind: 'binding', decl: d, name: d.name };
    case 'adapter':
      return { kind: 'adapter', decl: d, name: d.name };
    case 'prune':
      return d.to === undefined ? undefined : { kind: 'pruned', decl: d, name: d.to };
    default:
      return undefined;
  }
}

/** Fills ctx.symbols; a second declaration of a name is E0302 and is not stored. */
export function buildSymbols(ctx: CheckContext): void {
  for (const d of ctx.decls) {
    const sym = symbolOf(d);
    if (sym === undefined) continue;
    const name = sym.name.name;
    const prev = ctx.symbols.get(name);
    if (prev !== undefined) {
      ctx.report('E0302', sym.name.span, `\`${name}\` is already declared`, {
        notes: [noteAt('first declared here', prev.name.span)],
        suggestion: 'rename one of them',
      });
      continue;
    }
    if (sym.kind === 'layer' && lookup(name) !== undefined) {
      ctx.report('E0302', sym.name.span, `layer \`${name}\` has the name of a library callable`, { suggestion: `rename it, e.g. \`My${name}\`` });
      continue;
    }
    ctx.symbols.set(name, sym);
  }
}

/** E0314: recursion among derived models and among layers, each cycle once with its path. */
export function checkCycles(ctx: CheckContext): void {
  for (const c of findCycles(declIndex(ctx))) ctx.add(cycleError(c).diagnostic);
}

/** W0001 unused lets, W0002 unused bindings, W0003 unused model parameters. */
export function checkUnused(ctx: CheckContext): void {
  for (const d of ctx.decls) {
    if (d.kind === 'model' && ctx.symbols.get(d.name.name)?.decl === d) {
      const reads = ctx.bodyReads.get(d) ?? new Set<string>();
      for (const [name, id] of bodyLets.get(d) ?? []) {
        if (!reads.has(name)) ctx.report('W0001', id.span, `\`${name}\` is assigned but never read`, { suggestion: 'use it, or remove the `let`' });
      }
      for (const p of d.params) {
        if (!reads.has(p.name.name)) ctx.report('W0003', p.name.span, `model parameter \`${p.name.name}\` is never used`);
      }
    }
    if (d.kind === 'binding' && !ctx.bindingReads.has(d.name.name)) {
      ctx.report('W0002', d.name.span, `\`${d.name.name}\` is defined but never used`);
    }
  }
}

/** E0706 duplicate train/sample targets; W0004 frozen or sampled weights nothing initializes. */
export function checkTargets(ctx: CheckContext): void {
  const trained = new Map<string, Ident>();
  const sampled = new Map<string, Ident>();
  const initialized = new Set<string>();
  for (const d of ctx.decls) {
    if (d.kind === 'train' || d.kind === 'sample') {
      const seen = d.kind === 'train' ? trained : sampled;
      const prev = seen.get(d.target.name);
      if (prev !== undefined)
        ctx.report('E0706', d.target.span, `\`${d.target.name}\` already has a \`${d.kind}\` declaration`, {
          notes: [noteAt('first here', prev.span)],
          suggestion: 'merge them',
        });
      else seen.set(d.target.name, d.target);
    }
    if (d.kind === 'train') initialized.add(d.target.name);
    if (d.kind === 'inherit') initialized.add(d.child.name);
    if (d.kind === 'prune') initialized.add(d.to?.name ?? d.model.name);
  }
  const uses: [name: string, span: Span, role: string][] = [];
  for (const d of ctx.decls) {
    if (d.kind === 'adapter') uses.push([d.on.name, d.on.span, 'adapted']);
    if (d.kind === 'sample') uses.push([d.target.name, d.target.span, 'sampled']);
    if (d.kind === 'train') {
      for (const f of d.fields) {
        if (f.key !== 'teacher' && f.key !== 'base') continue;
        const m = f.value.kind === 'frozen' ? f.value.model : f.value;
        if (m.kind === 'ref' && m.path.length === 1 && m.path[0]?.kind === 'name') uses.push([m.path[0].name, m.path[0].span, `used as ${f.key}`]);
      }
    }
  }
  for (const [name, span, role] of uses) {
    const sym = ctx.symbols.get(name);
    if (sym === undefined || sym.kind === 'layer' || sym.kind === 'binding' || sym.kind === 'adapter') continue;
    if (!initialized.has(name)) {
      ctx.report('W0004', span, `\`${name}\` is ${role} but nothing trains, inherits or prunes it: its weights stay random`, {
        suggestion: `add \`train ${name} { … }\` or \`inherit ${name} from … at "…"\``,
      });
    }
  }
}
