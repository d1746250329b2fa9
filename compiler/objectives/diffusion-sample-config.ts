// Reads a `sample NAME { … }` declaration into plain options for the samplers: sampler and steps,
// guidance, reuse = cache(tap, every | steps), switch = [A when t > 600, B], classes, count, seed.
// The checker has already validated field names and call signatures; what is left here are the
// shapes of values the checker cannot see (a condition the switch can evaluate), reported as
// LowerErrors at the value's span.

import type { Expr, Program, SampleDecl } from '../../grammar/ast.ts';
import { LowerError } from '../../grammar/eval/errors.ts';

export type SwitchCondition = { op: '>' | '>=' | '<' | '<=' | '==' | '!='; value: number };

export interface SampleConfig {
  target: string;
  sampler: { kind: 'ddpm'; steps: number } | { kind: 'ddim'; steps: number; eta: number };
  guidance: number;
  reuse?: { tap: string; every: number } | { tap: string; steps: number[] };
  /** Alternatives in order; the last has no condition. Empty: the target alone. */
  switch: { model: string; when?: SwitchCondition }[];
  classes: number[];
  count: number;
  seed: number;
}

const num = (e: Expr): number | undefined =>
  e.kind === 'num' ? e.value : e.kind === 'unary' && e.op === '-' && e.arg.kind === 'num' ? -e.arg.value : undefined;
const refName = (e: Expr): string | undefined => (e.kind === 'ref' && e.path.length === 1 && e.path[0]?.kind === 'name' ? e.path[0].name : undefined);

function callParts(e: Expr): { callee: string; pos: Expr[]; named: Map<string, Expr> } | undefined {
  if (e.kind !== 'call') return undefined;
  const callee = refName(e.callee);
  if (callee === undefined) return undefined;
  const pos: Expr[] = [];
  const named = new Map<string, Expr>();
  for (const a of e.args)
    if (a.name === undefined) pos.push(a.value);
    else named.set(a.name, a.value);
  return { callee, pos, named };
}

function numberArg(c: { pos: Expr[]; named: Map<string, Expr> }, name: string, index: number, dflt: number): number {
  const e = c.named.get(name) ?? c.pos[index];
  if (e === undefined) return dflt;
  const v = num(e);
  if (v === undefined) throw new LowerError('E0905', `'${name}' must be a number here`, e.span);
  return v;
}

function ints(e: Expr): number[] {
  if (e.kind === 'list') return e.items.map((i) => num(i) ?? fail(i, 'expected a number'));
  if (e.kind === 'range') {
    const a = num(e.start) ?? fail(e.start, 'expected a number');
    const b = num(e.end) ?? fail(e.end, 'expected a number');
    return Array.from({ length: Math.max(0, b - a) }, (_, k) => a + k);
  }
  return fail(e, 'expected a list of numbers or a range a..b');
}

function fail(e: Expr, message: string): never {
  throw new LowerError('E0905', message, e.span);
}

function condition(e: Expr): SwitchCondition {
  if (e.kind === 'binary' && (['>', '>=', '<', '<=', '==', '!='] as const).includes(e.op as never)) {
    const op = e.op as SwitchCondition['op'];
    const l = refName(e.left);
    const rv = num(e.right);
    if (l === 't' && rv !== undefined) return { op, value: rv };
    const flip = { '>': '<', '>=': '<=', '<': '>', '<=': '>=', '==': '==', '!=': '!=' } as const;
    const lv = num(e.left);
    if (refName(e.right) === 't' && lv !== undefined) return { op: flip[op], value: lv };
  }
  return fail(e, 'a switch condition compares t with a number, e.g. `t > 600`');
}

export function holds(c: SwitchCondition, t: number): boolean {
  switch (c.op) {
    case '>':
      return t > c.value;
    case '>=':
      return t >= c.value;
    case '<':
      return t < c.value;
    case '<=':
      return t <= c.value;
    case '==':
      return t === c.value;
    case '!=':
      return t !== c.value;
  }
}

export function findSample(programs: Program | readonly Program[], target: string): SampleDecl | undefined {
  const list = Array.isArray(programs) ? programs : [programs as Program];
  for (const p of list) for (const d of p.decls) if (d.kind === 'sample' && d.target.name === target) return d;
  return undefined;
}

/** Defaults when the spec has no `sample` block for the model: DDIM 50 steps, no guidance. */
export function sampleConfig(programs: Program | readonly Program[], target: string): SampleConfig {
  const decl = findSample(programs, target);
  const cfg: SampleConfig = { target, sampler: { kind: 'ddim', steps: 50, eta: 0 }, guidance: 1, switch: [], classes: [0], count: 1, seed: 0 };
  if (decl === undefined) return cfg;
  for (const f of decl.fields) {
    const v = f.value;
    if (f.key === 'sampler') {
      const c = callParts(v);
      if (c === undefined || (c.callee !== 'ddim' && c.callee !== 'ddpm')) fail(v, 'the sampler is ddpm(steps) or ddim(steps, eta)');
      cfg.sampler =
        c.callee === 'ddpm'
          ? { kind: 'ddpm', steps: numberArg(c, 'steps', 0, 1000) }
          : { kind: 'ddim', steps: numberArg(c, 'steps', 0, 50), eta: numberArg(c, 'eta', 1, 0) };
    } else if (f.key === 'guidance') cfg.guidance = num(v) ?? fail(v, 'guidance is a number');
    else if (f.key === 'count') cfg.count = num(v) ?? fail(v, 'count is a number');
    else if (f.key === 'seed') cfg.seed = num(v) ?? fail(v, 'seed is a number');
    else if (f.key === 'classes') cfg.classes = ints(v);
    else if (f.key === 'reuse') {
      const c = callParts(v);
      const tapExpr = c?.named.get('tap') ?? c?.pos[0];
      if (c === undefined || c.callee !== 'cache' || tapExpr?.kind !== 'str') fail(v, 'reuse is cache("tap", every = N) or cache("tap", steps = [..])');
      const steps = c.named.get('steps');
      cfg.reuse = steps !== undefined ? { tap: tapExpr.value, steps: ints(steps) } : { tap: tapExpr.value, every: numberArg(c, 'every', 1, 2) };
    } else if (f.key === 'switch') {
      if (v.kind !== 'list' || v.items.length === 0) fail(v, 'switch is a list like [UNet when t > 600, SmallUNet]');
      cfg.switch = v.items.map((item, k) => {
        if (item.kind === 'binary' && item.op === 'when') {
          const model = refName(item.left) ?? fail(item.left, 'expected a model name');
          return { model, when: condition(item.right) };
        }
        const model = refName(item) ?? fail(item, 'expected a model name, or `Model when t > N`');
        if (k !== v.items.length - 1) fail(item, 'only the last alternative may have no `when` condition');
        return { model };
      });
      const last = cfg.switch[cfg.switch.length - 1];
      if (last?.when !== undefined) fail(v, 'the last alternative must have no condition (the default model)');
    }
  }
  return cfg;
}
