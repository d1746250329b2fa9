// Unit tests per check: small programs and the exact codes (and places) they must produce.
// Each case states the expectation independently of the implementation: which line, which code.

import { describe, expect, it } from 'vitest';
import { checkSource } from '../../../grammar/check/check-source.ts';
import type { ExtraCheck } from '../../../grammar/check/index.ts';

const none = (): undefined => undefined;
const MODEL = 'model M(dim = 8) {\n  input x: f32[batch, dim]\n  output y = Linear(x, dim) as proj\n}\n';
const TRAIN = 'train M {\n  data = brown(split = "train")\n  loss = mse(y, x)\n  steps = 10\n}\n';

/** [code, line] of every diagnostic, in source order. */
function found(text: string, file = 't.scion'): [string, number][] {
  const r = checkSource(text, file, none);
  return r.diagnostics.map((d) => [d.code, d.span.start.line] as [string, number]).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
}

describe('names', () => {
  it('a let is visible after its definition, not before', () => {
    expect(found('model M(dim = 8) {\n  input x: f32[batch, dim]\n  a = relu(b)\n  b = relu(x)\n  output y = Linear(a, dim) as p\n}\n')).toEqual([
      ['E0301', 3],
      ['W0001', 4],
    ]);
  });
  it('lets may be reassigned, inputs may not', () => {
    expect(found('model M(dim = 8) {\n  input x: f32[batch, dim]\n  h = x\n  h = relu(h)\n  x = h\n  output y = Linear(h, dim) as p\n}\n')).toEqual([
      ['E0305', 5],
    ]);
  });
  it('repeat variables are scoped to their body', () => {
    expect(
      found(
        'model M(dim = 8) {\n  input x: f32[batch, dim]\n  h = x\n  repeat i in 0..2 {\n    h = Linear(h, dim) as l[i]\n  }\n  output y = Linear(h, i) as p\n}\n',
      ),
    ).toEqual([['E0301', 7]]);
  });
  it('user layers are callables with their own parameters', () => {
    const layer = 'layer Scale(x, s = 1) {\n  param g: f32[s] = ones\n  return x * g\n}\n';
    expect(found(`${layer}model M(dim = 8) {\n  input x: f32[batch, dim]\n  output y = Scale(x, dim, 3) as sc\n}\n`)).toEqual([['E0401', 7]]);
    expect(found(`${layer}model M(dim = 8) {\n  input x: f32[batch, dim]\n  output y = Scale(x, t = 2) as sc\n}\n`)).toEqual([['E0402', 7]]);
    expect(found(`${layer}model M(dim = 8) {\n  input x: f32[batch, dim]\n  output y = Scale(s = 2) as sc\n}\n`)).toEqual([['E0404', 7]]);
  });
  it('duplicate declarations across an import point at the second', () => {
    const files: Record<string, string> = { 'lib/base.scion': MODEL, 'main.scion': `import "lib/base.scion"\n${MODEL}` };
    const r = checkSource(files['main.scion']!, 'main.scion', (p) => files[p]);
    const dup = r.diagnostics.filter((d) => d.code === 'E0302');
    expect(dup.map((d) => [d.span.file, d.span.start.line])).toEqual([['main.scion', 2]]);
    expect(dup[0]!.notes[0]!.span?.file).toBe('lib/base.scion');
  });
});

describe('calls and values', () => {
  it('a layer in a loss and a loss in a model body are misplaced', () => {
    expect(found(`${MODEL}train M {\n  data = brown(split = "train")\n  loss = mse(Linear(y, 2), x)\n  steps = 10\n}\n`)).toEqual([['E0407', 7]]);
  });
  it('a select call in an optimizer field is misplaced', () => {
    expect(found(`${MODEL}train M {\n  data = brown(split = "train")\n  loss = mse(y, x)\n  optimizer = l2\n  steps = 10\n}\n`)).toEqual([['E0407', 8]]);
  });
  it('a bare callable in a config field must not need arguments', () => {
    expect(found(`${MODEL}${TRAIN}model S = M(dim = 4)\ninherit S from M at "p" {\n  dim = l2\n  heads = taylor\n}\n`)).toEqual([['E0404', 13]]);
  });
  it('value ranges: rates in [0, 1], counts ≥ 1', () => {
    expect(found(`${MODEL}${TRAIN}adapter A on M {\n  targets = ["proj"]\n  rank = 4\n  dropout = 1\n}\n`)).toEqual([['E0412', 13]]);
    expect(found(`${MODEL}train M {\n  data = brown(split = "train")\n  loss = mse(y, x)\n  steps = 10\n  rounds = { count = 2, sample = 1.5 }\n}\n`)).toEqual([
      ['E0412', 9],
    ]);
    expect(found(`${MODEL}${TRAIN}sample M {\n  sampler = ddim(steps = 0)\n  guidance = -1\n}\n`)).toEqual([
      ['E0412', 11],
      ['E0412', 12],
    ]);
  });
  it('int arguments from parameters are evaluated', () => {
    expect(found('model M(dim = 8, h = 3) {\n  input x: f32[batch, 4, dim]\n  output y = Attention(x, dim / h) as a\n}\n')).toEqual([['E0406', 3]]);
    expect(found('model M(dim = 8, h = 2) {\n  input x: f32[batch, 4, dim]\n  output y = Attention(x, dim / h) as a\n}\n')).toEqual([]);
  });
  it('a tensor where an int is expected', () => {
    expect(found('model M(dim = 8) {\n  input x: f32[batch, dim]\n  output y = Linear(x, x) as p\n}\n')).toEqual([['E0406', 3]]);
  });
});

describe('models', () => {
  it('require is evaluated per instance, with the values in a note', () => {
    const r = checkSource(
      'model M(dim = 64, heads = 4) {\n  require dim % heads == 0\n  input x: f32[batch, 4, dim]\n  output y = Attention(x, heads) as a\n}\nmodel S = M(heads = 6)\n',
      't.scion',
      none,
    );
    expect(r.diagnostics.map((d) => d.code)).toEqual(['E0501']);
    expect(r.diagnostics[0]!.notes.map((n) => n.message)).toEqual(['with dim = 64, heads = 6', 'for model `S`, declared here']);
  });
  it('as paths are unrolled: distinct per iteration, duplicates found', () => {
    expect(
      found('model M(dim = 8) {\n  input x: f32[batch, dim]\n  h = x\n  repeat i in 0..3 {\n    h = Linear(h, dim) as l[i % 2]\n  }\n  output y = h\n}\n'),
    ).toEqual([['E0608', 5]]);
  });
  it('repeat bounds must be integers', () => {
    expect(
      found('model M(dim = 8, n = 2.5) {\n  input x: f32[batch, dim]\n  h = x\n  repeat i in 0..n {\n    h = Linear(h, dim) as l[i]\n  }\n  output y = h\n}\n'),
    ).toEqual([['E0504', 4]]);
  });
});

describe('inheritance and adapters', () => {
  const deep =
    'model B(dim = 8, depth = 4) {\n  input x: f32[batch, dim]\n  h = x\n  repeat i in 0..depth {\n    h = h + MLP(h, 16) as blocks[i].mlp\n  }\n  output y = h\n}\n';
  it('patterns: * matches one segment or part of one', () => {
    const ok = (p: string) =>
      found(`${deep}train B {\n  data = brown(split = "train")\n  loss = mse(y, x)\n  steps = 1\n}\nadapter A on B {\n  targets = ["${p}"]\n  rank = 2\n}\n`);
    expect(ok('blocks.*.mlp.fc1')).toEqual([]);
    expect(ok('blocks.*.mlp.fc*')).toEqual([]);
    expect(ok('blocks.3.mlp')).toEqual([]);
    expect(ok('blocks[1].mlp.fc2.bias')).toEqual([]);
    expect(ok('*.mlp.fc1')).toEqual([['E0603', 15]]);
    expect(ok('blocks.4.mlp')).toEqual([['E0603', 15]]);
  });
  it('explicit layer lists: in range, no repeats, as many as the child has', () => {
    const base = `${deep}model S = B(depth = 2)\ninherit S from B at "p" {\n  layers = LIST\n}\n`;
    expect(found(base.replace('LIST', '[0, 3]'))).toEqual([]);
    expect(found(base.replace('LIST', '[1, 1]'))).toEqual([['E0605', 11]]);
    expect(found(base.replace('LIST', '[0, 1, 2]'))).toEqual([['E0605', 11]]);
  });
  it('keep_ends: a child deeper than its parent', () => {
    expect(found(`${deep}model S = B(depth = 6)\ninherit S from B at "p" {\n  layers = keep_ends(first = 1, last = 1)\n}\n`)).toEqual([['E0606', 11]]);
  });
});

describe('train and sample', () => {
  it("an adapter trains its base model's taps", () => {
    expect(
      found(
        `${MODEL}${TRAIN}adapter A on M {\n  targets = ["proj"]\n  rank = 2\n}\ntrain A {\n  data = brown(split = "train")\n  base = M frozen\n  loss = mse(y, base.y) + mse(yy, x)\n  steps = 5\n}\n`,
      ),
    ).toEqual([['E0310', 17]]);
  });
  it('rounds may weight by the loss; switch conditions may read t', () => {
    expect(
      found(
        `${MODEL}train M {\n  data = brown(split = "train")\n  loss = mse(y, x)\n  steps = 10\n  rounds = { count = 2, weight = softmax(loss) }\n}\nmodel S = M(dim = 4)\ntrain S {\n  data = brown(split = "train")\n  loss = mse(y, x)\n  steps = 1\n}\nsample S {\n  sampler = ddim(steps = 10)\n  switch = [M when t > 600 && t < 900, S]\n}\n`,
      ),
    ).toEqual([]);
  });
});

describe('extension point', () => {
  it('extra checks run after the built-in ones and share their context', () => {
    const extra: ExtraCheck = (decls, ctx) => {
      for (const d of decls) if (d.kind === 'model') ctx.report('E0505', d.name.span, `shape check saw ${d.name.name}`);
    };
    const r = checkSource(MODEL, 't.scion', none, { extraChecks: [extra] });
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([['E0505', 'shape check saw M']]);
  });
});

describe('robustness', () => {
  it('partial programs after syntax errors do not throw', () => {
    for (const text of [
      'model M(',
      'model M() { output y = }',
      'train {',
      'inherit A from',
      'sample S { switch = [',
      'model M(d = 1) { repeat i in 0.. { } }',
      'layer L() { return }',
    ]) {
      expect(() => checkSource(text, 't.scion', none)).not.toThrow();
    }
  });
  it('the YAML twin of a wrong spec gets the same check codes', () => {
    const yaml =
      'scion: 1\ndecls:\n  - model: M\n    params: {dim: 8}\n    body:\n      - input: x\n        type: f32[batch, dim]\n      - output: y\n        value: Lineer(x, dim) as proj\n';
    const r = checkSource(yaml, 't.yaml', none);
    expect(r.diagnostics.map((d) => [d.code, d.span.start.line])).toEqual([['E0303', 9]]);
  });
});
