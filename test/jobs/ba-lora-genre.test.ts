// specs/ba-lora.scion fine-tunes the main job's TinyLlama (specs/default.scion): the classifier
// must fit that checkpoint tensor for tensor, and its two adapters (BA-LoRA `Genre`, plain LoRA
// `GenrePlain`) must differ only in their loss. Also the report helpers of bench/ba-lora-genre.ts.

import { describe, expect, it } from 'vitest';
import { findTrain, trainConfig } from '../../compiler/lower/lower-train-config.ts';
import { lowerTrain } from '../../compiler/lower/lower-train.ts';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import { checkpointPlan } from '../../compiler/presets/index.ts';
import { majorityRate, markdownTable, priorCrossEntropy, runRow } from '../../bench/ba-lora-genre.ts';
import { parseSpec } from '../compiler/lower/helpers.ts';
import type { Call, Expr } from '../../grammar/ast.ts';
import { calleeName } from '../../grammar/check/exprs.ts';

const spec = parseSpec('ba-lora.scion');
const main = parseSpec('default.scion');

/** Checkpoint tensor name → shape, as `scion train` writes (and adapterStart reads) them. */
function tensors(program: ReturnType<typeof parseSpec>, model: string): Map<string, string> {
  return new Map(checkpointPlan(lowerModel(program, model)).map((e) => [e.hf, e.shape.join('×')]));
}

/** A train config without source locations and target name, for comparing two declarations. */
function settings(target: string): string {
  const decl = findTrain(spec, target);
  if (decl === undefined) throw new Error(`no train ${target}`);
  return JSON.stringify(trainConfig(decl, spec), (k, v: unknown) => (k === 'span' || k === 'target' ? undefined : v));
}

describe('specs/ba-lora.scion on the main job', () => {
  it("inherits from default.scion's trained TinyLlama, whose checkpoint fits all but the new head", () => {
    expect(spec.imports.map((i) => i.path.value)).toEqual(['default.scion']);
    const inh = spec.decls.find((d) => d.kind === 'inherit');
    expect(inh?.kind === 'inherit' && [inh.child.name, inh.parent.name, inh.at.value]).toEqual([
      'GenreClassifier',
      findTrain(main)?.target.name,
      'runs/TinyLlama/model.safetensors',
    ]);
    const parent = tensors(main, 'TinyLlama');
    const child = tensors(spec, 'GenreClassifier');
    const fresh = [...child.keys()].filter((n) => !parent.has(n)).sort();
    expect(fresh).toEqual(['score.bias', 'score.weight']);
    for (const [name, shape] of child) if (!fresh.includes(name)) expect([name, shape]).toEqual([name, parent.get(name)]);
    expect([...parent.keys()].filter((n) => !child.has(n))).toEqual(['lm_head.weight']);
  });

  it('trains Genre and GenrePlain with the same settings; only Genre adds the three regularizers', () => {
    expect(settings('GenrePlain')).toBe(settings('Genre'));
    const ba = lowerTrain(spec, 'Genre', { batch: 2 });
    const plain = lowerTrain(spec, 'GenrePlain', { batch: 2 });
    expect(ba.terms.map((t) => t.callee)).toEqual(['cross_entropy', 'consistency', 'diversity', 'svd_energy']);
    expect(plain.terms.map((t) => t.callee)).toEqual(['cross_entropy']);
    expect(plain.frozen).toEqual([]);
    const shapes = (t: typeof ba): string[] => t.trainable.map((p) => `${p.path}:${p.shape.join('×')}`).sort();
    expect(shapes(plain)).toEqual(shapes(ba));
  });
});

describe("Genre's regularizers", () => {
  /** Every call in Genre's loss, by callee name: its positional arguments as text, its named ones. */
  function lossCalls(): Map<string, { positional: string[]; named: Record<string, string | number> }> {
    const decl = findTrain(spec, 'Genre');
    const loss = decl?.fields.find((f) => f.key === 'loss')?.value;
    const text = (e: Expr): string | number =>
      e.kind === 'ref' ? e.path.map((p) => (p.kind === 'name' ? p.name : '[]')).join('.') : e.kind === 'str' || e.kind === 'num' ? e.value : e.kind;
    const out = new Map<string, { positional: string[]; named: Record<string, string | number> }>();
    const walk = (v: unknown): void => {
      if (v === null || typeof v !== 'object') return;
      if ((v as { kind?: string }).kind === 'call') {
        const c = v as Call;
        const name = calleeName(c);
        if (name !== undefined)
          out.set(name, {
            positional: c.args.filter((a) => a.name === undefined).map((a) => String(text(a.value))),
            named: Object.fromEntries(c.args.filter((a) => a.name !== undefined).map((a) => [a.name as string, text(a.value)])),
          });
      }
      for (const x of Object.values(v)) walk(x);
    };
    walk(loss);
    return out;
  }

  it("follow the paper's NLU recipe (research/seeds.md §3.2): all three on the logits, diversity as covariance", () => {
    const calls = lossCalls();
    expect(calls.get('consistency')?.positional).toEqual(['logits', 'base.logits']);
    expect(calls.get('diversity')).toEqual({ positional: ['logits'], named: { variant: 'arxiv' } });
    expect(calls.get('svd_energy')).toEqual({ positional: ['logits'], named: { k: 5 } });
  });
});

describe('bench/ba-lora-genre.ts helpers', () => {
  it('majority rate: the share of the most frequent label, first on ties, over a subset when given', () => {
    expect(majorityRate([2, 0, 2, 1, 2, 0])).toEqual({ label: 2, rate: 0.5, count: 6 });
    expect(majorityRate([1, 0, 0, 1])).toEqual({ label: 0, rate: 0.5, count: 4 });
    expect(majorityRate([2, 0, 2, 1, 2, 0], [1, 3, 5])).toEqual({ label: 0, rate: 2 / 3, count: 3 });
    expect(() => majorityRate([])).toThrow(RangeError);
  });

  it('prior cross-entropy: −mean log of the training frequency of each evaluated label', () => {
    // Train frequencies 1/4, 3/4; evaluated labels 0, 1, 1 → −(ln ¼ + 2 ln ¾) / 3.
    expect(priorCrossEntropy([1, 0, 1, 1], [0, 1, 1], 2)).toBeCloseTo(-(Math.log(0.25) + 2 * Math.log(0.75)) / 3, 12);
    // A uniform prior over k classes costs ln k whatever the labels.
    expect(priorCrossEntropy([0, 1, 2], [2, 2, 0, 1], 3)).toBeCloseTo(Math.log(3), 12);
  });

  it('reads a run folder summary into a table row, the seed from the folder name', () => {
    const row = runRow('/x/GenrePlain-seed4', { adapter: 'GenrePlain', steps: 300, valAccuracy: 0.4375, valLoss: 1.23456, wallSeconds: 612.4 });
    expect(row).toEqual({ variant: 'GenrePlain', seed: 4, steps: 300, valAccuracy: 0.4375, valLoss: 1.23456, wallSeconds: 612.4 });
    expect(markdownTable([row]).split('\n').at(-1)).toBe('| GenrePlain | 4 | 300 | 43.8% | 1.235 | 612 s |');
  });
});
