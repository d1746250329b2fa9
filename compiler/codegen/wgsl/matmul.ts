// f32 matmul kernels: C[b] = act(A[b] · B[b] + bias), with sizes as uniforms.
//
//   A: [batch, M, K]   B: [batch, K, N] (or [K, N] broadcast: strideB = 0)   C: [batch, M, N]
//   bias: [N] (optional)
//
// Three variants, because the best one depends on the adapter (research/baselines.md, lesson 2):
//   register — each thread owns a 4×4 block of C in registers, no workgroup memory. On lavapipe
//              (a CPU pretending to be a GPU) barriers and workgroup memory cost more than they
//              save; this variant reached 9–14 GFLOP/s there versus 3–5 for tiles.
//   tiled    — classic 64×64 tiles staged through workgroup memory, 4×4 per thread: the shape
//              real GPUs want.
//   naive    — one thread per output element: the slow, obviously-correct baseline.
// `autotune` (runtime/webgpu/autotune.ts) times the candidates once per adapter and remembers.

import type { WgslProgram } from './program.ts';
import { naiveBody, registerBody, tiledBody } from './matmul-bodies.ts';

export type MatmulVariant = 'register' | 'tiled' | 'naive';

/** Elementwise activation applied after the bias, before the store. */
export type Activation = 'none' | 'relu' | 'gelu' | 'silu';

/** What one matmul kernel is specialized on; everything else (sizes, strides) is a uniform. */
export interface MatmulSpec {
  variant: MatmulVariant;
  /**
   * Load A and B as vec4 (needs K % 4 == 0 and N % 4 == 0); only the register variant has a
   * vec4 form. Without it the same blocking uses scalar loads with clamped indices.
   */
  vec4: boolean;
  bias: boolean;
  activation: Activation;
  /** Threads per workgroup along (columns, rows); only the register variant lets you choose. */
  workgroup?: readonly [number, number];
  /**
   * Register block of the vec4 form: rows of C × vec4 columns of C per thread (default [4, 1],
   * a 4×4 block). Bigger blocks load less per FMA but need more registers.
   */
  block?: readonly [number, number];
}

/** Sizes of one batched matmul. */
export interface MatmulDims {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** B is one [K, N] matrix shared by every batch entry. */
  broadcastB?: boolean;
}

/** The u32 uniform fields, in the order the WGSL `Dims` struct declares them. */
export const MATMUL_UNIFORMS = ['M', 'N', 'K', 'batch', 'strideA', 'strideB', 'strideC'] as const;

/** Uniform values for `dims`, keyed by the names in MATMUL_UNIFORMS. */
export function matmulUniforms(dims: MatmulDims): Record<(typeof MATMUL_UNIFORMS)[number], number> {
  const { batch, m, n, k } = dims;
  return { M: m, N: n, K: k, batch, strideA: m * k, strideB: dims.broadcastB === true ? 0 : k * n, strideC: m * n };
}

/** Whether the vec4 register kernel applies: rows of A and B must split into whole vec4s. */
export function fitsVec4(dims: MatmulDims): boolean {
  return dims.k % 4 === 0 && dims.n % 4 === 0;
}

/** The WGSL source of each activation, generic over f32 and vec4f (T is the type's name). */
const ACTIVATIONS: Record<Activation, (t: string) => string> = {
  none: () => 'x',
  relu: (t) => `max(x, ${t}(0.0))`,
  // tanh approximation of GELU; the clamp keeps tanh away from exp overflow (NaN on some drivers)
  gelu: (t) => `0.5 * x * (1.0 + tanh(clamp(0.7978845608 * (x + 0.044715 * x * x * x), ${t}(-15.0), ${t}(15.0))))`,
  silu: () => 'x / (1.0 + exp(-x))',
};

function epilogueWgsl(spec: MatmulSpec): string {
  const act = ACTIVATIONS[spec.activation];
  const scalarBias = spec.bias ? 'x = x + bias[col];' : '';
  const vecBias = spec.bias ? 'x = x + vec4f(bias[col], bias[col + 1u], bias[col + 2u], bias[col + 3u]);' : '';
  return `
fn epilogue(v: f32, col: u32) -> f32 {
  var x = v;
  ${scalarBias}
  return ${act('f32')};
}
fn epilogue4(v: vec4f, col: u32) -> vec4f {
  var x = v;
  ${vecBias}
  return ${act('vec4f')};
}`;
}

/** Generates the kernel for `spec`. Throws on combinations that do not exist (a caller bug). */
export function matmulProgram(spec: MatmulSpec): WgslProgram {
  if (spec.vec4 && spec.variant !== 'register') throw new Error(`matmul: only the register variant has a vec4 form, not '${spec.variant}'`);
  if (spec.workgroup !== undefined && spec.variant !== 'register') throw new Error(`matmul: only the register variant takes a workgroup size`);
  if (spec.block !== undefined && !spec.vec4) throw new Error(`matmul: only the vec4 register form takes a block shape`);
  const [rows, cols4] = spec.block ?? [4, 1];
  const [wx, wy] = spec.workgroup ?? (spec.variant === 'register' ? [8, 8] : [16, 16]);
  const elem = spec.vec4 ? 'vec4f' : 'f32';
  const header = `// scion matmul: ${spec.variant}${spec.vec4 ? ' vec4' : ''}, bias ${spec.bias}, ${spec.activation}
struct Dims { ${MATMUL_UNIFORMS.map((f) => `${f}: u32`).join(', ')}, _pad: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<${elem}>;
@group(0) @binding(2) var<storage, read> b: array<${elem}>;
@group(0) @binding(3) var<storage, read_write> c: array<${elem}>;
${spec.bias ? '@group(0) @binding(4) var<storage, read> bias: array<f32>;' : ''}
${epilogueWgsl(spec)}
`;
  const body = spec.variant === 'register' ? registerBody(spec.vec4, wx, wy, rows, cols4) : spec.variant === 'tiled' ? tiledBody() : naiveBody();
  const tile = spec.variant === 'naive' ? { cols: wx, rows: wy } : spec.vec4 ? { cols: wx * 4 * cols4, rows: wy * rows } : { cols: wx * 4, rows: wy * 4 };
  const bindings = [
    { binding: 1, name: 'a', access: 'read' as const },
    { binding: 2, name: 'b', access: 'read' as const },
    { binding: 3, name: 'c', access: 'read_write' as const },
    ...(spec.bias ? [{ binding: 4, name: 'bias', access: 'read' as const }] : []),
  ];
  return {
    key: `matmul/${spec.variant}/${spec.vec4 ? 'v4' : 's'}/wg${wx}x${wy}${spec.vec4 ? `/b${rows}x${cols4 * 4}` : ''}/bias${spec.bias ? 1 : 0}/${spec.activation}`,
    code: header + body,
    entryPoint: 'main',
    workgroupSize: [wx, wy, 1],
    tile,
    uniforms: MATMUL_UNIFORMS,
    bindings,
  };
}

/** Epilogue options shared by every candidate of one call site. */
export interface MatmulEpilogue {
  bias: boolean;
  activation: Activation;
}

/**
 * The specs worth timing for `dims`, named for the autotuner's cache: the register variant with a
 * 4×4 block, plus (vec4 only) bigger blocks — 8×8 and 16×8 — that load less per FMA. On lavapipe
 * each storage load in the K loop costs ~100 instructions (llvmpipe loads lane by lane with bounds
 * checks), so per step along K a 16×8 block does 128 FMAs for 24 vec4 loads where 4×4 does 64
 * for 8: the loop runs 0.69 against 0.28 FLOP per instruction in llvmpipe's assembly, and
 * measured 1.6× faster at 512 and 1024 (CPU time per matmul on a loaded machine). Registers
 * spill at that size, which costs far less than the loads saved. Then the tiled variant real GPUs
 * favour, and naive, as the floor.
 */
export function matmulCandidates(dims: MatmulDims, epilogue: MatmulEpilogue): Record<string, MatmulSpec> {
  const vec4 = fitsVec4(dims);
  const blocks = { 'register-4x8': [4, 2], 'register-8x8': [8, 2], 'register-16x8': [16, 2] } as const;
  return {
    'register-4x4': { variant: 'register', vec4, workgroup: [8, 8], ...epilogue },
    ...(vec4
      ? Object.fromEntries(
          Object.entries(blocks).map(([name, block]) => [name, { variant: 'register' as const, vec4, workgroup: [8, 8] as const, block, ...epilogue }]),
        )
      : {}),
    tiled: { variant: 'tiled', vec4: false, ...epilogue },
    naive: { variant: 'naive', vec4: false, ...epilogue },
  };
}
