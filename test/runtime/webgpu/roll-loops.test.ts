// Loops stay rolled in the WGSL we emit (compiler/codegen/wgsl/roll-loops.ts): lavapipe fully
// unrolls literal-count loops and then spends seconds compiling each small kernel, which made
// the LiT, DiT and SmallUNet rows of specs-webgpu.test.ts take minutes from a cold Mesa shader
// cache. Checked on the text (every literal bound ≥ 2 is opaque; one-step loops stay literal)
// and on the device (the opaque zero is 0 there: sums, maxima and a conv match plain JS).

import { describe, expect, it } from 'vitest';
import { rollLoops } from '../../../compiler/codegen/wgsl/roll-loops.ts';
import { parseGraph } from '../../../compiler/ir/text.ts';
import { compileGraph } from '../../../compiler/pipeline.ts';
import type { Tensor } from '../../../runtime/cpu/tensor.ts';
import { runArtifact } from '../../../runtime/webgpu/executor.ts';
import { gpuForTests, randomF32 } from './gpu-fixture.ts';

// A row sum and a row max over 16 columns, and a 3×3 conv over an 5×5 image: literal loops of 16
// and 3 steps, the kinds lavapipe unrolled.
const GRAPH = `
%0: f32[6,16] = input {name="x"}
%1: f32[6] = reduce_sum %0 {axes=[1], keepdim=false}
%2: f32[6] = reduce_max %0 {axes=[1], keepdim=false}
%3: f32[1,2,5,5] = input {name="img"}
%4: f32[3,2,3,3] = param {name="w", trainable=true}
%5: f32[1,3,3,3] = conv2d %3, %4 {stride=[1,1], padding=[0,0], groups=1}
output "sum" = %1
output "max" = %2
output "conv" = %5
`;

const LITERAL_BOUND = /for \(var (\w+) = (\d+)u; \1 < (\d+)u;/g;

describe('rolled loops in generated WGSL', () => {
  const art = compileGraph(parseGraph(GRAPH));

  it('every loop of 2 or more literal steps gets an opaque bound, and main sets the opaque zero', () => {
    let loops = 0;
    for (const p of art.programs) {
      const literal = [...p.code.matchAll(LITERAL_BOUND)].map((m) => Number(m[3]) - Number(m[2]));
      expect(
        literal.filter((n) => n >= 2),
        `kernel ${p.kernel} keeps a literal bound`,
      ).toEqual([]);
      loops += (p.code.match(/ \+ ROLL0;/g) ?? []).length;
      if (p.code.includes('+ ROLL0;')) expect(p.code).toMatch(/fn main\(.*\) \{\n {2}ROLL0 = min\(groups\.z, 1u\) - 1u;/);
    }
    // reduce_sum, reduce_max and the conv's three window loops
    expect(loops).toBeGreaterThanOrEqual(5);
  });

  it('leaves one-step loops, shaders without a num_workgroups main, and loop-free shaders alone', () => {
    const oneStep =
      'fn s0(r: u32) {\n  for (var j = 0u; j < 1u; j++) {\n  }\n  for (var j = 7u; j < 8u; j++) {\n  }\n}\nfn main(@builtin(num_workgroups) groups: vec3u) {\n}\n';
    expect(rollLoops(oneStep)).toBe(oneStep);
    // a lane-dependent start already hides the trip count (subgroup-reduce.ts's strided loops)
    const strided = 'fn q0(r: u32) {\n  for (var j = sgLane; j < 48u; j += 64u) {\n  }\n}\nfn main(@builtin(num_workgroups) groups: vec3u) {\n}\n';
    expect(rollLoops(strided)).toBe(strided);
    const noGroups = 'fn f() { for (var j = 0u; j < 8u; j++) {} }\nfn main(@builtin(global_invocation_id) gid: vec3u) {\n}\n';
    expect(rollLoops(noGroups)).toBe(noGroups);
    const enabled = 'enable f16;\nfn f() { for (var j = 0u; j < 8u; j++) {} }\nfn main(@builtin(num_workgroups) groups: vec3u) {\n}\n';
    // the private goes after `enable` (WGSL requires directives first)
    expect(rollLoops(`// c\n${enabled}`).split('\n').slice(0, 3)).toEqual(['// c', 'enable f16;', 'var<private> ROLL0: u32;']);
  });
});

const probe = await gpuForTests();

describe.skipIf(probe.gpu === null)('rolled loops on WebGPU', () => {
  it('sum, max and conv match plain JavaScript (the opaque zero is 0 on the device)', async () => {
    const gpu = probe.gpu;
    if (gpu === null) throw new Error('unreachable');
    const x = randomF32(96, 7);
    const img = randomF32(50, 8);
    const w = randomF32(54, 9);
    const feeds = new Map<string, Tensor>([
      ['x', { dtype: 'f32', shape: [6, 16], data: x }],
      ['img', { dtype: 'f32', shape: [1, 2, 5, 5], data: img }],
      ['w', { dtype: 'f32', shape: [3, 2, 3, 3], data: w }],
    ]);
    const out = await runArtifact(gpu, compileGraph(parseGraph(GRAPH)), feeds);
    for (let r = 0; r < 6; r++) {
      const row = [...x.subarray(r * 16, r * 16 + 16)];
      expect(out.get('sum')?.data[r]).toBeCloseTo(
        row.reduce((a, b) => a + b, 0),
        5,
      );
      expect(out.get('max')?.data[r]).toBe(Math.fround(Math.max(...row)));
    }
    // conv2d, no padding: y[o, i, j] = Σ_c,u,v img[c, i+u, j+v] · w[o, c, u, v]
    for (let o = 0; o < 3; o++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++) {
          let s = 0;
          for (let c = 0; c < 2; c++)
            for (let a = 0; a < 3; a++)
              for (let b = 0; b < 3; b++) s += (img[c * 25 + (i + a) * 5 + j + b] as number) * (w[((o * 2 + c) * 3 + a) * 3 + b] as number);
          expect(out.get('conv')?.data[(o * 3 + i) * 3 + j]).toBeCloseTo(s, 5);
        }
  }, 120_000);
});
