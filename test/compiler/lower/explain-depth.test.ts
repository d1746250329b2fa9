// `explain` at depth (issue 19): the report's table is built without spreading its rows into one
// call, so a model of 100,000 layers formats instead of overflowing the argument stack; timing
// against depth is measured in bench/explain-depth.ts, not here.

import { describe, expect, it } from 'vitest';
import { formatReport, type ModelReport } from '../../../compiler/explain.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import { explainModel } from '../../../compiler/explain.ts';
import { deepSpec } from '../../../bench/explain-depth.ts';

describe('explain at depth', () => {
  it('formats a report of 150,000 layers', () => {
    const layers = Array.from({ length: 150_000 }, (_, k) => ({
      path: `layers.${k}`,
      callee: 'Linear',
      shape: [1, 4],
      params: 20,
      flops: 32,
      activationBytes: 16,
      tensors: [{ path: `layers.${k}.weight`, shape: [4, 4], init: 'zeros' }],
    }));
    const report: ModelReport = {
      name: 'Deep',
      preset: null,
      params: 3_000_000,
      trainableParams: 3_000_000,
      flops: 0,
      activationBytes: 0,
      embeddingParams: 0,
      inputs: [],
      outputs: [],
      layers,
    };
    const text = formatReport(report);
    expect(text.split('\n')).toHaveLength(300_011);
    expect(text).toContain('layers.149999.weight');
  });

  it('each layer lists exactly its own tensors', () => {
    const { program } = parseProgram(deepSpec(3), 'deep.scion');
    const r = explainModel(program, 'Deep');
    expect(r.layers.map((l) => [l.path, l.tensors.map((t) => t.path)])).toEqual(
      [0, 1, 2].flatMap((i) => [
        [`layers.${i}.norm`, [`layers.${i}.norm.weight`]],
        [`layers.${i}.proj`, [`layers.${i}.proj.weight`, `layers.${i}.proj.bias`]],
      ]),
    );
  });
});
