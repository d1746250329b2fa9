// Property: `scion check` and lowering (`scion explain`) read one evaluation of the language. Over
// generated specs — model headers whose defaults, requires, input shapes, repeat bounds, path
// indices and layer flags are integer arithmetic with negatives, `%`, `/`, `**` and mixed
// precedence, and derived models that override some parameters — the checker accepts a spec
// exactly when every model in it lowers, and then its parameters, input shapes, layer paths and
// per-layer parameter tensors equal the compiler's.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSource } from '../../../grammar/check/check-source.ts';
import type { CheckContext } from '../../../grammar/check/context.ts';
import type { ExtraCheck } from '../../../grammar/check/index.ts';
import { evaluateInstance } from '../../../grammar/check/instances.ts';
import { instantiate } from '../../../grammar/check/models.ts';
import { modulePaths } from '../../../grammar/check/paths.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import type { Program } from '../../../grammar/ast.ts';
import { LowerError } from '../../../grammar/eval/errors.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';

const RUNS = 1000;
const PARAMS = ['a', 'b', 'c'] as const;

/** Integer arithmetic over `names`, as text; parentheses only sometimes, so precedence matters. */
function exprArb(names: readonly string[], depth: number): fc.Arbitrary<string> {
  const leaf = fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: -5, max: 12 }).map(String) },
    ...(names.length > 0 ? [{ weight: 3, arbitrary: fc.constantFrom(...names) }] : []),
  );
  if (depth === 0) return leaf;
  const sub = exprArb(names, depth - 1);
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    {
      weight: 4,
      arbitrary: fc
        .tuple(sub, fc.constantFrom('+', '-', '*', '%', '%', '/'), sub, fc.boolean())
        .map(([l, op, r, paren]) => (paren ? `(${l} ${op} ${r})` : `${l} ${op} ${r}`)),
    },
    { weight: 1, arbitrary: fc.tuple(sub, fc.integer({ min: 0, max: 3 })).map(([l, k]) => `(${l}) ** ${k}`) },
    { weight: 1, arbitrary: sub.map((x) => `-(${x})`) },
  );
}

/** `usual` most of the time, else `any`. */
const likely = (usual: fc.Arbitrary<string>, any: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof({ weight: 5, arbitrary: usual }, { weight: 1, arbitrary: any });

function condArb(names: readonly string[]): fc.Arbitrary<string> {
  const cmp = fc.tuple(exprArb(names, 2), fc.constantFrom('==', '!=', '<', '<=', '>', '>='), exprArb(names, 1)).map(([l, op, r]) => `${l} ${op} ${r}`);
  return fc.oneof(
    cmp,
    fc.tuple(cmp, fc.constantFrom('&&', '||'), cmp).map(([l, op, r]) => `${l} ${op} ${r}`),
  );
}

interface Spec {
  text: string;
  models: string[];
}

const specArb: fc.Arbitrary<Spec> = fc
  .record({
    // Each part is biased towards valid values (`likely`), so that a fair share of the specs
    // check clean, and the rest fail in every way the evaluator knows.
    defaults: fc.tuple(
      likely(fc.constantFrom('3', '-1', '7', '2 ** 3', '-7 / 2 * 2'), exprArb([], 2)),
      likely(fc.constantFrom('a % 4', '-a % 4', 'a * 2 - 1', '(a + 9) / 2'), exprArb(['a'], 2)),
      likely(fc.constantFrom('a + b', 'b - a % 3', '-b % -3', '12 / (b % 3 + 1)'), exprArb(['a', 'b'], 2)),
    ),
    requires: fc.array(likely(fc.constantFrom('a % 4 == 3', 'b >= -a', 'a / 2 != 1.5', 'c % 2 == 0 || c > 0'), condArb(PARAMS)), { maxLength: 2 }),
    shape: fc.tuple(
      likely(fc.constantFrom('3', 'a * a + 1', '2 + a % 3', '6 / 2', '1 - b % -3'), exprArb(PARAMS, 2)),
      fc.option(likely(fc.constantFrom('2', 'b % 5 + 1', '(a + 1) * 2'), exprArb(PARAMS, 1)), { nil: undefined }),
    ),
    range: fc.tuple(
      likely(fc.constantFrom('0', '1', 'a % 2'), exprArb(PARAMS, 1)),
      likely(fc.constantFrom('2', '2 + a % 4', 'b % 5', '7 / 2 * 2', '-a % 6'), exprArb(PARAMS, 1)),
    ),
    index: likely(fc.constantFrom('i', 'i - 0', '(i + b) % 7', 'i * 2 % 5', '-i % 9'), exprArb([...PARAMS, 'i'], 2)),
    bias: fc.option(condArb([...PARAMS, 'i']), { nil: undefined }),
    derived: fc.option(fc.array(fc.tuple(fc.constantFrom(...PARAMS), fc.integer({ min: -2, max: 9 })), { minLength: 1, maxLength: 3 }), {
      nil: undefined,
    }),
  })
  .map(({ defaults, requires, shape, range, index, bias, derived }) => {
    const [da, db, dc] = defaults;
    const dims = shape[1] === undefined ? shape[0] : `${shape[0]}, ${shape[1]}`;
    const lines = [
      `model M(a = ${da}, b = ${db}, c = ${dc}, dim = 4) {`,
      ...requires.map((r) => `  require ${r}`),
      `  input x: f32[batch, ${dims}]`,
      '  h = x',
      `  repeat i in ${range[0]}..${range[1]} {`,
      `    h = Linear(h, dim${bias === undefined ? '' : `, bias = ${bias}`}) as layers[${index}]`,
      '  }',
      '  output y = Linear(h, dim) as head',
      '}',
    ];
    const models = ['M'];
    if (derived !== undefined) {
      const args = new Map(derived); // a name once
      lines.push(`model D = M(${[...args].map(([k, v]) => `${k} = ${v}`).join(', ')})`);
      models.push('D');
    }
    return { text: `${lines.join('\n')}\n`, models };
  });

/** What the checker makes of a model: its parameters, input shapes and layer tensors. */
interface View {
  params: Record<string, unknown>;
  inputs: number[][];
  layers: [string, number][];
}

function checkerView(spec: Spec): { errors: string[]; views: Map<string, View> } {
  const views = new Map<string, View>();
  const capture: ExtraCheck = (_decls, ctx: CheckContext) => {
    for (const name of spec.models) {
      const inst = instantiate(ctx, name);
      const run = inst === undefined ? undefined : evaluateInstance(ctx, inst);
      if (inst === undefined || run === undefined) continue;
      views.set(name, {
        params: Object.fromEntries(inst.env),
        inputs: run.inputs.map((i) => i.shape),
        layers: modulePaths(ctx, inst).map((m) => [m.path, m.tensors.length]),
      });
    }
  };
  const r = checkSource(spec.text, 'gen.scion', () => undefined, { extraChecks: [capture] });
  return { errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.message}`), views };
}

/** What lowering makes of a model (what `scion explain` reports), or the error it stops with. */
function compilerView(program: Program, name: string): View | string {
  try {
    const m = lowerModel(program, name);
    return {
      params: { ...m.instance.params },
      inputs: m.inputs.map((i) => [...i.shape]),
      layers: m.layers.map((l) => [l.path, m.params.filter((p) => p.layer === l.path).length]),
    };
  } catch (e) {
    if (e instanceof LowerError) return `${e.diagnostic.code} ${e.diagnostic.message}`;
    throw e;
  }
}

describe('check and lowering agree on generated specs', () => {
  it(`accept the same specs, with the same parameters, shapes and layers (${RUNS} specs)`, () => {
    let accepted = 0;
    fc.assert(
      fc.property(specArb, (spec) => {
        const checked = checkerView(spec);
        const { program, diagnostics } = parseProgram(spec.text, 'gen.scion');
        expect(diagnostics, spec.text).toEqual([]);
        const lowered = spec.models.map((m) => compilerView(program, m));
        const lowerOk = lowered.every((v) => typeof v !== 'string');
        if ((checked.errors.length === 0) !== lowerOk)
          expect.fail(
            `check: ${checked.errors.join('; ') || 'ok'}\nlowering: ${lowered.map((v) => (typeof v === 'string' ? v : 'ok')).join('; ')}\n${spec.text}`,
          );
        if (!lowerOk) return;
        accepted++;
        spec.models.forEach((m, k) => {
          expect(checked.views.get(m), `${m} in\n${spec.text}`).toEqual(lowered[k]);
        });
      }),
      { numRuns: RUNS, seed: 1414, endOnFailure: true },
    );
    // The property must not hold vacuously: a fair share of the specs is valid.
    expect(accepted).toBeGreaterThan(RUNS / 5);
    console.log(`agreement: ${accepted} of ${RUNS} generated specs check clean`);
  });
});
