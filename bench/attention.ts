// Causal softmax attention forward, B1 H4 S256 D32: the fused kernel (compiler/kernel/
// fuse-attention.ts, codegen/wgsl/render-attention.ts: online softmax, scores never stored)
// against the same graph compiled unfused (scores + mask + softmax kernel writing [1, 4, 256, 256],
// then P·V), both as WebGpuExecutor steps on the shared device, timed interleaved: ms per pass.

import { parseGraph } from '../compiler/ir/text.ts';
import { compileGraph } from '../compiler/pipeline.ts';
import { WebGpuExecutor } from '../runtime/webgpu/executor.ts';
import { fill } from './fill.ts';
import { interleavedMsPerRun } from './timing.ts';
import { result, type Benchmark } from './types.ts';

const [B, H, S, D] = [1, 4, 256, 32];

/** The graph as lowering writes attention (see specs/default.scion's IR): scale, mask, softmax. */
function attentionGraph(): string {
  const q = `f32[${B},${H},${S},${D}]`;
  const s = `f32[${B},${H},${S},${S}]`;
  const r = `f32[${B},${H},${S},1]`;
  return `
%0: ${q} = input {name="q"}
%1: ${q} = input {name="k"}
%2: ${q} = input {name="v"}
%3: f32[${B},${H},${D},${S}] = permute %1 {perm=[0,1,3,2]}
%4: ${s} = matmul %0, %3
%5: f32[] = full {value=${1 / Math.sqrt(D)}}
%6: ${s} = mul %4, %5
%7: i32[${S},${S}] = iota {axis=1}
%8: i32[${S},${S}] = iota {axis=0}
%9: bool[${S},${S}] = le %7, %8
%10: f32[] = full {value=-3.4028234663852886e+38}
%11: ${s} = where %9, %6, %10
%12: ${r} = reduce_max %11 {axes=[3], keepdim=true}
%13: ${s} = sub %11, %12
%14: ${s} = exp %13
%15: ${r} = reduce_sum %14 {axes=[3], keepdim=true}
%16: ${s} = div %14, %15
%17: ${q} = matmul %16, %2
output "out" = %17
`;
}

export const benchmarks: Benchmark[] = [
  {
    name: 'attention',
    description: `causal attention forward B${B} H${H} S${S} D${D}: fused kernel vs matmul → softmax → matmul`,
    needsGpu: true,
    async run(ctx) {
      const gpu = ctx.gpu;
      if (gpu === null) throw new Error(ctx.noGpuReason);
      const g = parseGraph(attentionGraph());
      const make = async (fuse: boolean) => {
        const art = compileGraph(g, { fuseAttention: fuse });
        ctx.log(`attention ${fuse ? 'fused' : 'unfused'}: ${art.graph.kernels.length} dispatch(es), peak ${art.memory.peakBytes} bytes`);
        const ex = await WebGpuExecutor.create(gpu, art, ctx.cache ?? undefined);
        for (const [k, name] of ['q', 'k', 'v'].entries()) ex.write(name, { dtype: 'f32', shape: [B, H, S, D], data: fill(B * H * S * D, k + 1, 1) });
        return ex;
      };
      const [fused, plain] = [await make(true), await make(false)];
      try {
        const times = await interleavedMsPerRun({
          fused: async (n: number) => {
            for (let i = 0; i < n; i++) await fused.step();
          },
          plain: async (n: number) => {
            for (let i = 0; i < n; i++) await plain.step();
          },
        });
        return [result(`attention-causal-s${S}`, 'ms', times.fused, times.plain, 'unfused (scores+softmax, then P·V)', false)];
      } finally {
        fused.destroy();
        plain.destroy();
      }
    },
  },
];
