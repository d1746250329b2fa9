// IR passes as "IR text in → IR text out", the verifier run after each.

import { describe, expect, it } from 'vitest';
import { parseGraph, printGraph } from '../../../compiler/ir/text.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { simplify } from '../../../compiler/passes/simplify.ts';
import { eliminateCommon } from '../../../compiler/passes/eliminate-common.ts';
import { eliminateDead } from '../../../compiler/passes/eliminate-dead.ts';
import { optimizeGraph } from '../../../compiler/pipeline.ts';

const run = (text: string, pass: (g: ReturnType<typeof parseGraph>) => ReturnType<typeof parseGraph>): string => {
  const out = pass(parseGraph(text));
  verifyGraph(out);
  return printGraph(out);
};

describe('simplify', () => {
  it('drops x + 0, x · 1, x / 1, double negation and stop_gradient, then DCE removes the orphans', () => {
    const text = `
%0: f32[2,3] = input {name="x"}
%1: f32[] = full {value=0}
%2: f32[2,3] = add %0, %1
%3: f32[] = full {value=1}
%4: f32[2,3] = mul %3, %2
%5: f32[2,3] = div %4, %3
%6: f32[2,3] = neg %5
%7: f32[2,3] = neg %6
%8: f32[2,3] = stop_gradient %7
%9: f32[2,3] = exp %8
output "y" = %9
`;
    expect(run(text, (g) => eliminateDead(simplify(g)))).toBe(`%0: f32[2,3] = input {name="x"}
%1: f32[2,3] = exp %0
output "y" = %1
`);
  });

  it('keeps x · 0 (inf · 0 is nan) and an x + 0 that broadcasts x to a larger shape', () => {
    const text = `
%0: f32[3] = input {name="x"}
%1: f32[] = full {value=0}
%2: f32[3] = mul %0, %1
%3: f32[2,3] = full {value=0}
%4: f32[2,3] = add %0, %3
output "a" = %2
output "b" = %4
`;
    expect(run(text, (g) => eliminateDead(simplify(g)))).toBe(printGraph(parseGraph(text)));
  });

  it('folds arithmetic on full values and composes permutations', () => {
    const text = `
%0: f32[] = full {value=2}
%1: f32[] = full {value=3}
%2: f32[] = div %0, %1
%3: f32[2,3,4] = input {name="x"}
%4: f32[3,4,2] = permute %3 {perm=[1,2,0]}
%5: f32[4,2,3] = permute %4 {perm=[1,2,0]}
%6: f32[4,2,3] = mul %5, %2
output "y" = %6
`;
    // out[i] = x4[p2[i]] = x3[p1[p2[i]]]: [1,2,0]∘[1,2,0] = [2,0,1]
    expect(run(text, (g) => eliminateDead(simplify(g)))).toBe(`%0: f32[] = full {value=${Math.fround(2 / 3)}}
%1: f32[2,3,4] = input {name="x"}
%2: f32[4,2,3] = permute %1 {perm=[2,0,1]}
%3: f32[4,2,3] = mul %2, %0
output "y" = %3
`);
  });
});

describe('CSE and DCE', () => {
  it('merges nodes made equal by simplification, then drops the dead ones', () => {
    const text = `
%0: f32[3] = input {name="x"}
%1: f32[] = full {value=0}
%2: f32[3] = add %0, %1
%3: f32[3] = exp %2
%4: f32[3] = exp %0
%5: f32[3] = mul %3, %4
%6: f32[3] = log %0
output "y" = %5
`;
    expect(run(text, (g) => eliminateDead(eliminateCommon(simplify(g))))).toBe(`%0: f32[3] = input {name="x"}
%1: f32[3] = exp %0
%2: f32[3] = mul %1, %1
output "y" = %2
`);
  });

  it('the pipeline verifies after every pass and reports each', () => {
    const seen: string[] = [];
    optimizeGraph(parseGraph('%0: f32[2] = input {name="x"}\n%1: f32[2] = neg %0\noutput "y" = %1\n'), { onPass: (name) => seen.push(name) });
    expect(seen).toEqual(['simplify', 'eliminate-common', 'eliminate-dead']);
  });
});
