// The loss pre-flight of `scion check` (compiler/lower/check-losses.ts): a distillation whose
// operands cannot match — a 3-wide student distilled from a 5-wide teacher — passes the
// declaration checks, so `check` reports it from the loss rule itself: the same code and message
// that lowering for `scion train` throws, at the loss term's line and column. And every `train`
// of every shipped spec checks clean and lowers, gradients included.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { checkSource } from '../../../grammar/check/check-source.ts';
import type { Program } from '../../../grammar/ast.ts';
import { LowerError } from '../../../grammar/eval/errors.ts';
import { checkLosses } from '../../../compiler/lower/check-losses.ts';
import { lowerTrain } from '../../../compiler/lower/lower-train.ts';
import { exampleSpecs, SPECS_DIR } from '../../../grammar/yaml/write-twins.ts';
import { captureIo } from '../../cli/capture-io.ts';
import { lossSpec } from '../../fixtures/loss-specs.ts';

const spec = lossSpec;

function program(text: string): Program {
  const r = checkSource(text, 'kd.scion', () => undefined);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { file: 'kd.scion', imports: [], decls: r.decls };
}

describe('check reports loss operands that cannot match', () => {
  const KD = 'cross_entropy(logits, next(tokens)) + 0.5 * kd(logits, teacher.logits, T = 2)';

  it('kd of 3-wide student logits against a 5-wide teacher: E0901 at the kd call, as lowering says it', () => {
    const p = program(spec(KD));
    const found = checkLosses(p);
    expect(found.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.col} ${d.message}`)).toEqual([
      // line 9 is the loss; column 54 is where `kd(` starts (after "  loss = " and the CE term)
      'E0901 9:54 kd: student [4, 3, 3] and teacher [4, 3, 5] logits must have one shape',
    ]);
    let thrown: unknown;
    try {
      lowerTrain(p, 'S', { batch: 4 });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(LowerError);
    expect((thrown as LowerError).diagnostic).toEqual(found[0]);
  });

  it('`scion check` prints it and exits 1; the same spec with a matching teacher is clean', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-check-losses-'));
    writeFileSync(join(dir, 'bad.scion'), spec(KD));
    writeFileSync(join(dir, 'good.scion'), spec(KD).replace('model T = S(vocab = 5, dim = 4)', 'model T = S(dim = 4)'));
    const bad = captureIo(dir);
    expect(await main(['check', 'bad.scion'], bad)).toBe(1);
    expect(bad.stdout).toContain('bad.scion:9:54: error[E0901]: kd: student [4, 3, 3] and teacher [4, 3, 5] logits must have one shape');
    const good = captureIo(dir);
    expect(await main(['check', 'good.scion'], good), good.stdout).toBe(0);
    expect(good.stdout).not.toContain('error');
    expect(good.stdout).toContain('W0004'); // the teacher is never trained: a warning, not an error
  });

  it('mse of features of different widths is reported at the mse call', () => {
    const found = checkLosses(program(spec('mse(logits, teacher.logits)')));
    expect(found.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.col} ${d.message}`)).toEqual([
      "E0901 9:10 mse: 'a' [4, 3, 3] and 'b' [4, 3, 5] must have one shape",
    ]);
  });

  it('errors outside the loss stay the train command’s to report', () => {
    // `seq = 3` against ctx 3 is fine; a teacher that is no model is the checker's (E0411), not lowering's.
    expect(checkLosses(program(spec('cross_entropy(logits, next(tokens))')))).toEqual([]);
  });
});

describe('every shipped spec checks clean and lowers every train block', () => {
  const cases = exampleSpecs().flatMap((name) => {
    const file = join(SPECS_DIR, `${name}.scion`);
    const r = checkSource(readFileSync(file, 'utf8'), file, (f) => (existsSync(f) ? readFileSync(f, 'utf8') : undefined));
    return r.decls.filter((d) => d.kind === 'train' && d.span.file === file).map((d) => ({ name, target: d.kind === 'train' ? d.target.name : '', r }));
  });

  it('finds the train blocks', () => {
    expect(cases.map((c) => `${c.name}:${c.target}`)).toContain('tiny-lm:Tiny');
    expect(cases.length).toBeGreaterThanOrEqual(6);
  });

  it.each(cases.map((c) => [`${c.name}: train ${c.target}`, c] as const))('%s', (_, c) => {
    expect(c.r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const p: Program = { file: `${c.name}.scion`, imports: [], decls: c.r.decls };
    expect(checkLosses(p)).toEqual([]);
    const t = lowerTrain(p, c.target, { batch: 2 });
    expect(t.graph.outputs.some((o) => o.name === 'loss')).toBe(true);
    expect(t.trainable.length).toBeGreaterThan(0);
  });
});
