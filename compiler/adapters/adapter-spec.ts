// An `adapter NAME on MODEL { targets, rank, alpha, init, dropout }` declaration read into plain
// data. The checker has already validated field names, value kinds and ranges (grammar/check), so
// what is wrong here is reported with the same codes but only as a safety net for unchecked ASTs.
//
// Defaults follow Hugging Face PEFT's LoraConfig: lora_alpha = 8, dropout 0, and the standard init
// (A kaiming-uniform, B zeros), which the spec writes as `zeros` — B's zeros make the fresh
// adapter the identity change.

import type { AdapterDecl, Expr, Program, Span } from '../../grammar/ast.ts';
import { LowerError, nearest } from '../../grammar/eval/errors.ts';

/** How the adapter's A and B start. */
export type LoraInit =
  | { kind: 'zeros' } // PEFT default: A kaiming-uniform(a=√5), B zeros
  | { kind: 'gaussian' } // PEFT "gaussian": A ~ N(0, 1/r), B zeros
  | { kind: 'pissa'; niter: number }; // A, B from the top-r singular triplets of W (jobs/inherit)

export interface AdapterSpec {
  name: string;
  /** The adapted model. */
  on: string;
  /** Parameter path patterns (grammar/check/patterns.ts) naming the Linear modules to adapt. */
  targets: string[];
  rank: number;
  alpha: number;
  init: LoraInit;
  /** Dropout rate on the adapter's input, in [0, 1). */
  dropout: number;
  span: Span;
}

export const DEFAULT_ALPHA = 8;

/** Finds `adapter <name>` among the programs (a root and its imports). */
export function findAdapter(programs: Program | readonly Program[], name: string, span?: Span): AdapterDecl {
  const list = Array.isArray(programs) ? (programs as readonly Program[]) : [programs as Program];
  const all = list.flatMap((p) => p.decls.filter((d): d is AdapterDecl => d.kind === 'adapter'));
  const hit = all.find((d) => d.name.name === name);
  if (hit !== undefined) return hit;
  const at = span ?? list[0]?.decls[0]?.span ?? { file: '<none>', start: { line: 1, col: 1, offset: 0 }, end: { line: 1, col: 1, offset: 0 } };
  const hint = nearest(
    name,
    all.map((d) => d.name.name),
  );
  throw new LowerError(
    'E0307',
    `no adapter named '${name}'`,
    at,
    [{ message: `adapters: ${all.map((d) => d.name.name).join(', ') || '(none)'}` }],
    hint === undefined ? undefined : `did you mean '${hint}'?`,
  );
}

/**
 * Reads an adapter declaration's fields.
 *
 * @example adapterSpec(findAdapter(program, 'Genre')) // { rank: 8, alpha: 16, init: { kind: 'pissa', niter: 16 }, … }
 */
export function adapterSpec(decl: AdapterDecl): AdapterSpec {
  const field = (key: string): Expr | undefined => decl.fields.find((f) => f.key === key)?.value;
  const targetsExpr = field('targets');
  if (targetsExpr === undefined) throw new LowerError('E0409', `adapter ${decl.name.name} needs 'targets'`, decl.span);
  if (targetsExpr.kind !== 'list' || targetsExpr.items.some((i) => i.kind !== 'str')) {
    throw new LowerError('E0411', `'targets' must be a list of path patterns like ["layers.*.self_attn.q_proj"]`, targetsExpr.span);
  }
  const targets = targetsExpr.items.map((i) => (i.kind === 'str' ? i.value : ''));
  const rankExpr = field('rank');
  if (rankExpr === undefined) throw new LowerError('E0409', `adapter ${decl.name.name} needs 'rank'`, decl.span);
  const rank = literal(rankExpr, 'rank');
  if (!Number.isInteger(rank) || rank < 1) throw new LowerError('E0412', `a LoRA rank is an integer >= 1, found ${rank}`, rankExpr.span);
  const alphaExpr = field('alpha');
  const alpha = alphaExpr === undefined ? DEFAULT_ALPHA : literal(alphaExpr, 'alpha');
  if (!(alpha > 0)) throw new LowerError('E0412', `alpha must be positive, found ${alpha}`, alphaExpr?.span ?? decl.span);
  const dropoutExpr = field('dropout');
  const dropout = dropoutExpr === undefined ? 0 : literal(dropoutExpr, 'dropout');
  if (!(dropout >= 0 && dropout < 1)) throw new LowerError('E0412', `a dropout rate is in [0, 1), found ${dropout}`, dropoutExpr?.span ?? decl.span);
  const initExpr = field('init');
  return {
    name: decl.name.name,
    on: decl.on.name,
    targets,
    rank,
    alpha,
    init: initExpr === undefined ? { kind: 'zeros' } : readInit(initExpr),
    dropout,
    span: decl.span,
  };
}

function literal(e: Expr, key: string): number {
  if (e.kind === 'num') return e.value;
  if (e.kind === 'unary' && e.op === '-' && e.arg.kind === 'num') return -e.arg.value;
  throw new LowerError('E0411', `'${key}' must be a number literal`, e.span);
}

/** `zeros`, `gaussian`, `pissa` or `pissa(niter = 16)`. */
function readInit(e: Expr): LoraInit {
  const nameOf = (x: Expr): string | undefined => (x.kind === 'ref' && x.path.length === 1 && x.path[0]?.kind === 'name' ? x.path[0].name : undefined);
  const callee = e.kind === 'call' ? nameOf(e.callee) : nameOf(e);
  const args = e.kind === 'call' ? e.args : [];
  switch (callee) {
    case 'zeros':
    case 'gaussian':
      if (args.length > 0) throw new LowerError('E0401', `${callee} takes no arguments`, e.span);
      return { kind: callee };
    case 'pissa': {
      let niter = 16;
      for (const a of args) {
        if ((a.name ?? 'niter') !== 'niter') throw new LowerError('E0402', `pissa has no argument '${a.name ?? ''}' (it takes niter)`, a.span);
        niter = literal(a.value, 'niter');
        if (!Number.isInteger(niter) || niter < 0) throw new LowerError('E0412', `niter is an integer >= 0, found ${niter}`, a.value.span);
      }
      return { kind: 'pissa', niter };
    }
    default:
      throw new LowerError('E0406', `an adapter init is zeros, gaussian or pissa(niter = 16)`, e.span, [], 'write `init = pissa(niter = 16)`');
  }
}
