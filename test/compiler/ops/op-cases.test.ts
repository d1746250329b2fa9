// Generated from the ONE table in op-cases.ts: each case runs on the CPU interpreter in f32 and
// f64 against its hand-written expectation, and (for differentiable ops) its VJP is checked by
// central finite differences in f64 with relative error < 1e-6.

import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Node } from '../../../compiler/ir/graph.ts';
import { OPS } from '../../../compiler/ir/ops.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { VJP_RULES } from '../../../compiler/autodiff/vjp-rules.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { fdCheck, feedsOf, lookup, maxRelErr } from './harness.ts';
import { FD_SKIPS, OP_CASES, type CaseInput, type OpCase } from './op-cases.ts';

function fdInputs(c: OpCase): string[] {
  if (c.fd === false || VJP_RULES[c.op] === 'nondiff' || FD_SKIPS[c.op]) return [];
  return c.fd
    ? [...c.fd]
    : Object.entries(c.inputs)
        .filter(([, v]) => (v.dtype ?? 'f32') === 'f32')
        .map(([k]) => k);
}

describe('op table coverage', () => {
  it('every op has at least one hand-computed case', () => {
    expect(OPS.filter((op) => !OP_CASES.some((c) => c.op === op))).toEqual([]);
  });
  it('every differentiable op has a finite-difference case (or a skip with a reason)', () => {
    const diff = OPS.filter((op) => VJP_RULES[op] !== 'nondiff' && !FD_SKIPS[op]);
    expect(diff.filter((op) => !OP_CASES.some((c) => c.op === op && fdInputs(c).length > 0))).toEqual([]);
  });
});

describe.each(OP_CASES.map((c) => [`${c.op}: ${c.name}`, c] as const))('%s', (_title, c) => {
  const b = new GraphBuilder();
  const nodes = new Map<string, Node>();
  for (const [k, v] of Object.entries(c.inputs)) nodes.set(k, b.input(k, v.shape, v.dtype ?? 'f32'));
  const out = c.build(b, lookup(nodes));
  b.output('y', out);
  const g = b.build();
  const feeds = new Map([...feedsOf(c.inputs), ...feedsOf(c.params ?? {})]);

  it('builds a verified graph that uses the op', () => {
    verifyGraph(g);
    expect(g.nodes.some((n) => n.op === c.op)).toBe(true);
  });

  for (const dtype of ['f32', 'f64'] as const) {
    it(`computes the expected output in ${dtype}`, () => {
      const y = runGraph(g, feeds, { dtype }).get('y');
      if (!y) throw new Error('no output');
      if (c.check) {
        c.check(y.data, y.shape);
        return;
      }
      const want = c.expect;
      if (!want) throw new Error('case needs expect or check');
      expect(y.shape).toEqual(want.shape);
      expect(y.dtype).toBe(want.dtype ?? 'f32');
      const tol = dtype === 'f32' ? (c.tol ?? 1e-6) : Math.max(1e-12, (c.tol ?? 1e-6) / 1e6);
      expect(maxRelErr(y.data, want.values)).toBeLessThanOrEqual(tol);
    });
  }

  const fd = fdInputs(c);
  if (fd.length > 0) {
    it(`VJP matches finite differences (${fd.join(', ')})`, () => {
      const params: Record<string, CaseInput> = {};
      const inputs: Record<string, CaseInput> = {};
      for (const [k, v] of Object.entries(c.inputs)) (fd.includes(k) ? params : inputs)[k] = v;
      for (const r of fdCheck(params, inputs, c.build)) {
        expect(r.relErr, `${r.name}: analytic ${[...r.analytic]} vs numeric ${[...r.numeric]}`).toBeLessThan(1e-6);
      }
    });
  }
});

describe('random ops', () => {
  const b = new GraphBuilder();
  const key = b.input('key', [2], 'i32');
  b.output('u1', b.randomUniform(key, [64]));
  b.output('u2', b.randomUniform(key, [64]));
  b.output('n', b.randomNormal(key, [64], 5));
  const g = b.build();
  const run = (seed: number, counter: number) => runGraph(g, feedsOf({ key: { shape: [2], values: [seed, counter], dtype: 'i32' } }), { dtype: 'f32' });

  it('is reproducible for the same key and differs across counters and streams', () => {
    const a = run(1, 0);
    const again = run(1, 0);
    const next = run(1, 1);
    expect([...(a.get('u1')?.data ?? [])]).toEqual([...(again.get('u1')?.data ?? [])]);
    expect(maxRelErr(a.get('u1')?.data ?? [], next.get('u1')?.data ?? [])).toBeGreaterThan(0.1);
    expect(maxRelErr(a.get('u1')?.data ?? [], a.get('u2')?.data ?? [])).toBeGreaterThan(0.1);
  });
  it('gives the same numbers in f32 and f64 (24-bit uniforms)', () => {
    const key = { key: { shape: [2], values: [3, 9], dtype: 'i32' as const } };
    const f32 = runGraph(g, feedsOf(key), { dtype: 'f32' }).get('u1')?.data ?? [];
    const f64 = runGraph(g, feedsOf(key), { dtype: 'f64' }).get('u1')?.data ?? [];
    expect([...f32]).toEqual([...f64]);
  });
});
