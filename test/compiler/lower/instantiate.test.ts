// Instantiation: parameters, derived-model overrides, repeat unrolling, `as` paths, symbolic dims,
// and the user errors that only show once sizes are numbers.

import { describe, expect, it } from 'vitest';
import { instantiate } from '../../../grammar/eval/instantiate.ts';
import { LowerError } from '../../../grammar/eval/errors.ts';
import { lower, parse, parseSpec } from './helpers.ts';

const catchDiag = (f: () => unknown): LowerError['diagnostic'] => {
  try {
    f();
  } catch (e) {
    if (e instanceof LowerError) return e.diagnostic;
    throw e;
  }
  throw new Error('expected a LowerError');
};

describe('instantiate', () => {
  it('applies derived-model arguments over the base defaults and unrolls repeats into paths', () => {
    const inst = instantiate(parseSpec('tiny-lm.scion'), 'Tiny', { dims: { batch: 3 } });
    expect(inst.declName).toBe('Llama');
    expect(inst.params).toEqual({ vocab: 2048, dim: 128, depth: 4, heads: 4, kv_heads: 2, ffn: 384, ctx: 128 });
    expect(inst.inputs).toEqual([expect.objectContaining({ name: 'tokens', dtype: 'i32', shape: [3, 128] })]);
    const paths = inst.modules.map((m) => m.path);
    expect(paths).toContain('layers.3.self_attn');
    expect(paths).not.toContain('layers.4.self_attn');
    expect(paths.filter((p) => p.endsWith('.mlp'))).toHaveLength(4);
    expect(paths.at(-1)).toBe('lm_head');
  });

  it('names layers without `as` by kind and counter, and keeps rebindings apart', () => {
    const m = lower('model M(d = 4) { input x: f32[2, d]\n h = Linear(x, d)\n h = Linear(h, d)\n output y = RMSNorm(h) }', 'M');
    expect(m.params.map((p) => p.path)).toEqual(['linear_0.weight', 'linear_0.bias', 'linear_1.weight', 'linear_1.bias', 'rmsnorm_0.weight']);
    expect(m.taps.get('h')).toBe(m.taps.get('h@1'));
    expect(m.taps.get('h')).not.toBe(m.taps.get('linear_0'));
  });

  it('reports a failed require with the values, a duplicate path, and a bad dimension', () => {
    const bad = parse(
      'model M(dim = 10, heads = 3) {\n  require dim % heads == 0, "dim must split"\n  input x: f32[batch, dim]\n  output y = Linear(x, dim) as p\n}',
    );
    const d = catchDiag(() => instantiate(bad, 'M'));
    expect(d.code).toBe('E0501');
    expect(d.message).toBe('dim must split');
    expect(d.notes[0]?.message).toContain('dim = 10, heads = 3');
    expect(d.span.start.line).toBe(2);
    const dup = parse('model M() {\n  input x: f32[2, 4]\n  h = Linear(x, 4) as a\n  output y = Linear(h, 4) as a\n}');
    expect(catchDiag(() => instantiate(dup, 'M')).code).toBe('E0608');
    const dim = parse('model M() {\n  input x: f32[rows, 4]\n  output y = Linear(x, 4) as a\n}');
    expect(catchDiag(() => instantiate(dim, 'M')).message).toContain("'rows' has no value");
    expect(instantiate(dim, 'M', { dims: { rows: 5 } }).inputs[0]?.shape).toEqual([5, 4]);
  });

  it('reports shapes that do not broadcast at the operator', () => {
    const d = catchDiag(() => lower('model M() {\n  input x: f32[2, 4]\n  output y = x + Linear(x, 3) as a\n}', 'M'));
    expect(d.code).toBe('E0902');
    expect(d.message).toContain('[2, 4] and [2, 3]');
  });

  it('lowers user layers with their own params under the call path', () => {
    const m = lower(
      'layer Scale(x, n) {\n  param g: f32[n] = ones()\n  return x * g\n}\nmodel M() {\n  input x: f32[2, 4]\n  output y = Scale(x, 4) as s\n}',
      'M',
    );
    expect(m.params).toEqual([expect.objectContaining({ path: 's.g', shape: [4], init: { dist: 'ones', rule: 'ones' } })]);
  });
});
