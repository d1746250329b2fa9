// `scion check` accepts exactly the inherit declarations `scion inherit` completes (issue 20):
// declarations over a small llama parent are generated from a seeded enumeration, and each is
// run through both commands against the same parent checkpoint. Then the cases the issue names,
// each with the code check gives and the one-line reason inherit gives.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { LLAMA, PARENT, parse, randomWeights, tmp, writeModel } from './helpers.ts';
import { captureIo } from '../../cli/capture-io.ts';

/** mulberry32: a seeded generator independent of the code under test. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One generated declaration: the child's arguments and the inherit fields (PARENT: vocab 13, dim
 * 16, depth 4, 4 heads over 2 KV heads, ffn 24). Each field is usually what the child needs, and
 * otherwise one of the ways to get it wrong, so both commands see valid and invalid ones.
 */
function generate(r: () => number): { child: string; fields: string[] } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const list = (n: number, below: number, sorted = true): number[] => {
    const xs: number[] = [];
    while (xs.length < n) {
      const x = Math.floor(r() * Math.max(below, n)); // a child wider than the parent lists more than it has
      if (!xs.includes(x)) xs.push(x);
    }
    return sorted ? xs.sort((a, b) => a - b) : xs;
  };
  const ok = () => r() < 0.9;
  const [heads, kv, dim] = pick([
    [4, 2, 16],
    [4, 2, 16],
    [2, 2, 8],
    [2, 1, 8],
    [2, 1, 8],
    [4, 4, 16], // more KV heads than the parent
    [2, 2, 16], // head width 8, not the parent's 4
    [3, 2, 12], // heads do not group over KV heads
    [6, 2, 24], // wider than the parent
  ] as const);
  const depth = pick([4, 4, 2, 3, 5]);
  const ffn = pick([24, 24, 8, 32]);
  const vocab = pick([13, 13, 10]);
  const child = `depth = ${depth}, ffn = ${ffn}, heads = ${heads}, kv_heads = ${kv}, dim = ${dim}, vocab = ${vocab}`;
  const fields: string[] = [];
  const add = (f: string | undefined) => {
    if (f !== undefined) fields.push(f);
  };
  // layers
  if (depth !== 4 || r() < 0.2)
    add(
      ok()
        ? pick([`layers = [${list(depth, 4).join(', ')}]`, `layers = keep_ends(first = 1, last = ${depth >= 2 ? 1 : 0})`])
        : pick([
            `layers = [${list(depth, 4, false).join(', ')}]`,
            `layers = [${list(depth, 5).join(', ')}]`, // 4 is past the parent
            `layers = [${list(Math.max(1, depth - 1), 4).join(', ')}]`,
            `layers = keep_ends(first = 2, last = ${pick([1, 2])})`,
            undefined,
          ]),
    );
  // ffn
  if (ffn !== 24 || r() < 0.2)
    add(
      ok()
        ? pick(['ffn = l1', 'ffn = l2', `ffn = [${list(ffn, 24).join(', ')}]`])
        : pick([
            'ffn = l2(size = 8)',
            'ffn = l2(ratio = 0.5)',
            `ffn = [${list(ffn, 24, false).join(', ')}]`,
            `ffn = [${list(ffn - 1, 24).join(', ')}]`,
            undefined,
          ]),
    );
  // heads: whole KV groups of 2 ([2, 3]) or one head per group ([0, 3]), by l1/l2 or a list
  if (heads !== 4 || kv !== 2 || r() < 0.2) {
    const valid = kv === 1 ? pick(['[0, 1]', '[2, 3]']) : heads === 2 ? pick(['[0, 2]', '[0, 3]', '[1, 2]', '[1, 3]']) : '[0, 1, 2, 3]';
    add(
      ok()
        ? pick(['heads = l2', 'heads = l1', `heads = ${valid}`])
        : pick(['heads = [0, 1]', 'heads = [3, 0]', 'heads = [0, 2, 1, 3]', 'heads = l2(size = 2)', undefined]),
    );
  }
  // dim
  if (dim !== 16 || r() < 0.2)
    add(
      ok()
        ? pick(['dim = l2', 'dim = l1', `dim = [${list(dim, 16).join(', ')}]`])
        : pick([`dim = [${list(dim - 1, 16).join(', ')}]`, `dim = [${list(dim, 16, false).join(', ')}]`, undefined]),
    );
  // vocab
  if (vocab !== 13 || r() < 0.1)
    add(ok() ? `vocab = [${list(vocab, 13, r() < 0.5).join(', ')}]` : pick([`vocab = [${list(vocab, 14).join(', ')}]`, undefined]));
  if (r() < 0.15) add(pick(['except = ["lm_head"]', 'except = ["layers.*.mlp.*"]', 'except = ["nothing.*"]']));
  if (r() < 0.1) add('init = xavier_uniform');
  return { child, fields };
}

let dir: string;
beforeAll(async () => {
  dir = tmp();
  const parent = lowerModel(parse(LLAMA('P', PARENT)), 'P');
  await writeModel(join(dir, 'parent.safetensors'), parent, randomWeights(parent, 2));
});

let n = 0;
/** Exit codes of `scion check` and `scion inherit` on one declaration, with inherit's stderr. */
async function both(child: string, fields: readonly string[]): Promise<{ check: number; inherit: number; checkOut: string; inheritErr: string }> {
  const file = `case${n++}.scion`;
  const text = `${LLAMA('P', PARENT)}\nmodel C = P(${child})\n\ninherit C from P at "parent.safetensors" {\n${fields.map((f) => `  ${f}`).join('\n')}\n}\n`;
  writeFileSync(join(dir, file), text);
  const c = captureIo(dir);
  const check = await main(['check', file, '--json'], c);
  const i = captureIo(dir);
  mkdirSync(join(dir, `out${n}`));
  const inherit = await main(['inherit', file, '-o', `out${n}`, '--json'], i);
  return { check, inherit, checkOut: c.stdout, inheritErr: i.stderr };
}

describe('check accepts exactly what inherit completes', () => {
  it('on 160 generated declarations over a 4-layer llama (4 heads over 2 KV heads)', async () => {
    const r = rng(20);
    const tally = { both: 0, neither: 0 };
    for (let k = 0; k < 160; k++) {
      const { child, fields } = generate(r);
      const got = await both(child, fields);
      const what = `C = P(${child}) { ${fields.join('; ')} }\ncheck: ${got.checkOut}\ninherit: ${got.inheritErr}`;
      expect([0, 1], what).toContain(got.inherit);
      expect(got.check === 0, what).toBe(got.inherit === 0);
      if (got.inherit === 0) tally.both++;
      else tally.neither++;
    }
    // The enumeration reaches both sides, so the agreement says something.
    expect(tally.both).toBeGreaterThanOrEqual(25);
    expect(tally.neither).toBeGreaterThanOrEqual(20);
  }, 120_000);

  // The issue's cases: check's code, and inherit's refusal as one line per reason.
  const CASES: [what: string, child: string, fields: string[], code: string, reason: string][] = [
    ['a child FFN wider than the parent', 'ffn = 32', ['ffn = l2'], 'E0612', "layers.N.mlp (every layer): the child has 32 neurons, more than the parent's 24"],
    ['a vocabulary change with no rule', 'vocab = 10', [], 'E0612', "the child's vocabulary has 10 tokens and the parent's 13"],
    [
      'a dim list shorter than the width',
      'dim = 8, heads = 2, kv_heads = 1',
      ['dim = [0, 1, 2]', 'heads = l2'],
      'E0612',
      '3 residual channels are kept but the child has 8',
    ],
    ['3 heads over 2 KV heads', 'heads = 3, kv_heads = 2, dim = 12', ['heads = l2', 'dim = l2'], 'E0901', '3 query heads do not group evenly over 2 kv heads'],
    ['an unsorted layer list', 'depth = 2', ['layers = [3, 0]'], 'E0605', 'layer 0 is listed after layer 3'],
    ['l2(size = 40)', 'ffn = 8', ['ffn = l2(size = 40)'], 'E0611', '`size` does not apply in inherit'],
    ['a ratio inherit would ignore', 'ffn = 8', ['ffn = l1(ratio = 0.5)'], 'E0611', '`ratio` does not apply in inherit'],
    [
      'a head list splitting KV groups',
      'heads = 2, kv_heads = 2, dim = 8',
      ['heads = [0, 1]', 'dim = l2'],
      'E0805',
      "heads [0, 1] split the parent's KV groups",
    ],
    [
      'learned masks that disagree on steps',
      'ffn = 8, heads = 2, kv_heads = 1, dim = 8',
      ['ffn = learned_mask(brown(split = "calib"), steps = 10)', 'heads = learned_mask(brown(split = "calib"), steps = 20)', 'dim = l2'],
      'E0611',
      'are trained together, so this calib or steps would be ignored',
    ],
    ['a head width the child cannot keep', 'heads = 2, kv_heads = 2', ['heads = l2'], 'E0805', "the child's head width 8 differs from the parent's 4"],
  ];
  it.each(CASES)('refuses %s in both, with one reason', async (_, child, fields, code, reason) => {
    const got = await both(child, fields);
    expect(got.check).toBe(1);
    expect(got.inherit).toBe(1);
    const diags = (JSON.parse(got.checkOut) as { diagnostics: { code: string; message: string }[] }).diagnostics;
    expect(diags.map((d) => d.code)).toEqual([code]);
    expect(diags[0]!.message).toContain(reason);
    expect(got.inheritErr).toContain(reason);
    expect(got.inheritErr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
