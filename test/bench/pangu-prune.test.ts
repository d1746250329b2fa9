// The PanGu-π Pro reproduction spec (bench/reproduce/specs/pangu-inherit.scion) and the random
// arm of bench/reproduce/pangu-prune.ts: the spec checks and lowers at the sizes the script
// assumes, and a random selection is a valid index list of the child's size, fixed by its seed.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import { loadProgramText } from '../../bench/reproduce/common.ts';
import { randomInheritText, randomSubset, UNITS } from '../../bench/reproduce/pangu-prune.ts';
import { Prng } from '../../runtime/data/prng.ts';

const SPEC = 'bench/reproduce/specs/pangu-inherit.scion';
const TEXT = readFileSync(SPEC, 'utf8');

/** The integer list of `field = [...]` in the inherit block of `text`. */
function listOf(text: string, field: string): number[] {
  const m = new RegExp(`^  ${field} = \\[([^\\]]*)\\]`, 'm').exec(text);
  if (m === null) throw new Error(`no ${field} list`);
  return (m[1] as string).split(',').map((s) => Number(s.trim()));
}

const ascendingDistinct = (xs: number[]): boolean => xs.every((x, k) => k === 0 || x > (xs[k - 1] as number));

describe(SPEC, () => {
  it('checks, and its Parent and Child have the unit counts pangu-prune.ts draws from', () => {
    const program = loadProgramText(TEXT, SPEC);
    const parent = lowerModel(program, 'Parent', { dims: { batch: 1 } }).instance.params;
    const child = lowerModel(program, 'Child', { dims: { batch: 1 } }).instance.params;
    expect([parent['dim'], child['dim']]).toEqual([...UNITS.dim]);
    expect([parent['ffn'], child['ffn']]).toEqual([...UNITS.ffn]);
    // One whole GQA group of the parent's: 4 heads over 2 KV heads → 2 heads over 1.
    expect([parent['heads'], parent['kv_heads'], child['heads'], child['kv_heads']]).toEqual([4, 2, 2, 1]);
  });
});

describe('pangu-prune.ts random units', () => {
  it('draws k distinct indices below n, ascending', () => {
    const s = randomSubset(new Prng(5), 10, 4);
    expect(s).toHaveLength(4);
    expect(ascendingDistinct(s)).toBe(true);
    expect(s.every((x) => x >= 0 && x < 10)).toBe(true);
    expect(randomSubset(new Prng(5), 10, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("replaces the inherit block's rules with lists of the child's sizes, fixed by the seed", () => {
    const a = randomInheritText(TEXT, 1);
    expect(randomInheritText(TEXT, 1)).toBe(a);
    expect(randomInheritText(TEXT, 2)).not.toBe(a);
    const dim = listOf(a, 'dim');
    const ffn = listOf(a, 'ffn');
    expect(dim).toHaveLength(UNITS.dim[1]);
    expect(ffn).toHaveLength(UNITS.ffn[1]);
    expect(ascendingDistinct(dim) && ascendingDistinct(ffn)).toBe(true);
    expect(Math.max(...dim)).toBeLessThan(UNITS.dim[0]);
    expect(Math.max(...ffn)).toBeLessThan(UNITS.ffn[0]);
    expect([
      [0, 1],
      [2, 3],
    ]).toContainEqual(listOf(a, 'heads'));
    // The data-driven rules are gone; the layers and everything outside the block are kept.
    expect(a).not.toMatch(/taylor|activation\(|dim = l2/);
    expect(a).toContain('layers = keep_ends(first = 1, last = 1)');
    expect(a.slice(0, a.indexOf('inherit Child'))).toBe(TEXT.slice(0, TEXT.indexOf('inherit Child')));
    expect(a.slice(a.indexOf('train Parent'))).toBe(TEXT.slice(TEXT.indexOf('train Parent')));
    expect(() => loadProgramText(a, SPEC)).not.toThrow();
  });

  it('refuses a spec without the inherit block', () => {
    expect(() => randomInheritText('model M() {}\n', 1)).toThrow(/no 'inherit Child from Parent/);
  });
});
