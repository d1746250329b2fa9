// Fusion partitions and memory plans, checked on IR text and on the tiny llama training step:
// which nodes share a kernel, and that no two buffers live at once overlap in memory.

import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../../compiler/ir/text.ts';
import type { KernelArtifact } from '../../../compiler/kernel/kernel-graph.ts';
import { buildTrainStep } from '../../../compiler/autodiff/train-step.ts';
import { compileGraph } from '../../../compiler/pipeline.ts';
import { tinyLlama } from '../ir/tiny-llama.ts';

const kernelsOf = (text: string): number[][] => compileGraph(parseGraph(text)).graph.kernels.map((k) => k.nodes);

describe('fusion', () => {
  it('fuses an elementwise chain with broadcasts into one kernel', () => {
    expect(
      kernelsOf(`
%0: f32[4,3] = input {name="x"}
%1: f32[3] = param {name="b", trainable=true}
%2: f32[4,3] = add %0, %1
%3: f32[4,3] = tanh %2
%4: f32[4,3] = mul %3, %3
output "y" = %4
`),
    ).toEqual([[2, 3, 4]]);
  });

  it('fuses a matmul with its transposed weight (a view) and its epilogue: bias, activation, residual, scale', () => {
    expect(
      kernelsOf(`
%0: f32[4,3] = input {name="x"}
%1: f32[3,3] = param {name="w", trainable=true}
%2: f32[3] = param {name="b", trainable=true}
%3: f32[3,3] = permute %1 {perm=[1,0]}
%4: f32[4,3] = matmul %0, %3
%5: f32[4,3] = add %4, %2
%6: f32[4,3] = relu %5
%7: f32[4,3] = add %6, %0
%8: f32[] = full {value=0.5}
%9: f32[4,3] = mul %7, %8
output "y" = %9
`),
    ).toEqual([[3, 4, 5, 6, 7, 9]]);
  });

  it('materializes an elementwise value feeding a matmul (it would be recomputed per output column)', () => {
    const ks = kernelsOf(`
%0: f32[4,3] = input {name="x"}
%1: f32[3,5] = param {name="w", trainable=true}
%2: f32[4,3] = exp %0
%3: f32[4,5] = matmul %2, %1
output "y" = %3
`);
    expect(ks).toEqual([[2], [3]]);
  });

  // x·W with K = 128 feeding a row softmax: inlined, each row's thread would run 128·5 FMAs twice
  // (once for the max, once for the output); materialized, the matmul renders register-blocked.
  // With K = 8 (attention's q·kᵀ at a small head size) it stays inside the row kernel.
  // (Node ids are renumbered densely by the parser: the matmul is node 2.)
  it.each([
    [128, [[2], [3, 4, 5, 6, 7, 8, 9]]],
    [8, [[2, 3, 4, 5, 6, 7, 8, 9]]],
  ])('keeps a matmul with K = %i out of a row-reduction kernel only when K > 64', (k, kernels) => {
    expect(
      kernelsOf(`
%0: f32[4,${k}] = input {name="x"}
%1: f32[${k},5] = param {name="w", trainable=true}
%3: f32[4,5] = matmul %0, %1
%4: f32[4] = reduce_max %3 {axes=[1], keepdim=false}
%5: f32[4,1] = reshape %4 {shape=[4,1]}
%6: f32[4,5] = sub %3, %5
%7: f32[4,5] = exp %6
%8: f32[4] = reduce_sum %7 {axes=[1], keepdim=false}
%9: f32[4,1] = reshape %8 {shape=[4,1]}
%10: f32[4,5] = div %7, %9
output "p" = %10
`),
    ).toEqual(kernels);
  });
});

/** Every pair of buffers one kernel touches is disjoint in memory, except declared in-place pairs. */
function overlaps(art: KernelArtifact): string[] {
  const bad: string[] = [];
  const { placements } = art.memory;
  for (const k of art.graph.kernels) {
    const ids = [...new Set([...k.inputs, ...k.outputs])];
    for (const a of ids) {
      for (const b of ids) {
        if (a >= b) continue;
        if (art.memory.inplace.some((x) => (x.input === a && x.output === b) || (x.input === b && x.output === a))) continue;
        const [pa, pb] = [placements[a]!, placements[b]!];
        const [na, nb] = [art.graph.buffers[a]!.count, art.graph.buffers[b]!.count];
        if (pa.arena === pb.arena && pa.offset < pb.offset + nb && pb.offset < pa.offset + na) bad.push(`kernel ${k.id}: buffers ${a} and ${b}`);
      }
    }
  }
  return bad;
}

describe('the tiny llama training step', () => {
  const step = buildTrainStep(tinyLlama(), 'loss');
  const art = compileGraph(step.graph, { carry: step.carry });

  it('needs at most one dispatch per three primitive ops', () => {
    expect(art.graph.kernels.length * 3).toBeLessThanOrEqual(art.graph.primitiveOps);
  });

  it('peaks within 1.25× of the lower bound, which it never beats', () => {
    expect(art.memory.peakBytes).toBeGreaterThanOrEqual(art.memory.lowerBoundBytes);
    expect(art.memory.peakBytes).toBeLessThanOrEqual(1.25 * art.memory.lowerBoundBytes);
  });

  it('never overlaps two buffers a kernel uses at once', () => {
    expect(overlaps(art)).toEqual([]);
  });

  it('writes every carried param and moment in place over the old one', () => {
    for (const c of step.carry) {
      const out = art.graph.outputs.find((o) => o.name === c.output)!.buffer;
      const inp = [...art.graph.inputs, ...art.graph.params].find((o) => o.name === c.input)!.buffer;
      expect(art.memory.placements[out], c.output).toEqual(art.memory.placements[inp]);
    }
  });

  it('runs the whole AdamW update (every parameter, its m and v) in the last dispatch, each thread storing all three', () => {
    const updates = art.graph.kernels.filter((k) => k.outputs.some((b) => art.graph.outputs.some((o) => o.buffer === b && o.name.startsWith('new:'))));
    expect(updates.map((k) => k.id)).toEqual([art.graph.kernels.length - 1]);
    const last = updates[0]!;
    const written = new Set(last.outputs);
    for (const o of art.graph.outputs) if (o.name.startsWith('new:')) expect(written.has(o.buffer), o.name).toBe(true);
    expect(last.segments.every((s) => s.also?.length === 2)).toBe(true);
  });
});
