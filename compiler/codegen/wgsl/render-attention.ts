// Fused softmax attention, forward: out = softmax(scale · q·kᵀ + causal mask) · v without the
// [B, H, Sq, Sk] score matrix ever touching memory. One thread per query row (or R consecutive
// rows sharing each key load: `renderAttentionRows`, what software adapters compile), 64 threads
// (a query tile of one (batch, head) or of neighbours) per workgroup; each thread walks the keys once with
// the online softmax (running max m, running denominator l, output accumulator rescaled by
// exp(m_old − m_new) whenever the max grows), so memory traffic is q once, k and v once per row,
// out once, and no intermediate buffer is needed.
//
// No workgroup memory: on lavapipe, tiles staged through workgroup memory with barriers lose to
// plain per-thread loops (research/baselines.md, lesson 2); a real-GPU variant would stage k/v
// blocks in workgroup memory and is a later addition.
//
// Layouts (row-major, f32, offsets in elements within arena-bound arrays A<arena>):
//   q   [B, H,   Sq, D]      k [B, KVH, Sk, D]      v [B, KVH, Sk, Dv]      out [B, H, Sq, Dv]
// Grouped-query attention: head h reads kv head h / (H / KVH). Causal: query i sees keys
// j ≤ i + (Sk − Sq), i.e. the queries are the last Sq positions of the key sequence.

import type { AttentionOperand, AttentionShape, CompiledKernel, KernelInfo, MemoryPlan } from '../../kernel/kernel-graph.ts';
import { rollLoops } from './roll-loops.ts';
import { f, u } from './wgsl-util.ts';

/**
 * Where a tensor lives: arena (binding A<arena>), offset in f32 elements, and optionally its
 * strides along (batch, head, sequence) — the feature axis is always contiguous. Absent strides
 * mean the packed layout above; e.g. v straight out of its projection, [B, Sk, KVH, Dv], has
 * strides { batch: Sk·KVH·Dv, head: Dv, seq: KVH·Dv }.
 */
export interface TensorAt {
  arena: number;
  offset: number;
  strides?: { batch: number; head: number; seq: number };
}

export interface AttentionOperands {
  q: TensorAt;
  k: TensorAt;
  v: TensorAt;
  out: TensorAt;
}

export const ATTENTION_WORKGROUP = 64;

/** Head dims above this would spill the per-thread accumulator; such attention stays unfused. */
export const ATTENTION_MAX_DIM = 256;

/** Why `s` cannot be rendered fused, or null when it can. */
export function attentionUnsupported(s: AttentionShape): string | null {
  const dims = [s.batch, s.heads, s.kvHeads, s.queries, s.keys, s.headDim, s.valueDim];
  if (dims.some((d) => !Number.isInteger(d) || d < 1)) return `non-positive dimension in ${JSON.stringify(s)}`;
  if (s.heads % s.kvHeads !== 0) return `heads ${s.heads} is not a multiple of kv heads ${s.kvHeads}`;
  if (s.headDim > ATTENTION_MAX_DIM || s.valueDim > ATTENTION_MAX_DIM) return `head dim above ${ATTENTION_MAX_DIM}`;
  if (s.causal && s.queries > s.keys) return 'causal attention with more queries than keys (rows without keys)';
  return null;
}

/**
 * The fused kernel as a CompiledKernel (`kernel` is the caller's kernel id). Throws for shapes
 * `attentionUnsupported` rejects (a compiler bug if it gets here).
 *
 * @example
 *   const k = renderAttention(7, { batch: 1, heads: 4, kvHeads: 2, queries: 9, keys: 9, headDim: 8,
 *     valueDim: 8, causal: true, scale: 1 / Math.sqrt(8) }, { q: { arena: 0, offset: 0 }, ... });
 *   // k.threads === 36 (one per query row); dispatch ceil(36 / 64) workgroups
 */
export function renderAttention(kernel: number, s: AttentionShape, at: AttentionOperands, rowsPerThread = 1): CompiledKernel {
  const why = attentionUnsupported(s);
  if (why !== null) throw new Error(`renderAttention: ${why}`);
  if (rowsPerThread > 1) return renderAttentionRows(kernel, s, at, rowsPerThread);
  const { batch, heads, kvHeads, queries: sq, keys: sk, headDim: d, valueDim: dv } = s;
  const arenas = arenasOf(at);
  const A = (t: TensorAt): string => `A${t.arena}`;
  const rows = batch * heads * sq;
  const group = heads / kvHeads;
  // Last key (exclusive) row i may see.
  const last = s.causal ? `min(${u(sk)}, i + ${u(sk - sq + 1)})` : u(sk);
  const code = [
    `// scion kernel ${kernel}: fused attention [B${batch}, H${heads}/${kvHeads}, Sq${sq}, Sk${sk}, D${d}/${dv}]${s.causal ? ' causal' : ''}`,
    ...arenas.map((a, k) => `@group(0) @binding(${k}) var<storage, read_write> A${a}: array<f32>;`),
    '',
    '// Query row r: scores against every visible key, online softmax, weighted sum of values.',
    'fn attend(r: u32) {',
    `  let i = r % ${u(sq)};`,
    `  let bh = r / ${u(sq)};`,
    `  let b = bh / ${u(heads)};`,
    `  let h = bh % ${u(heads)};`,
    `  let kvh = h / ${u(group)};`,
    `  let qb = ${rowOffset(at.q, heads, sq, d, 'h', 'i')};`,
    // q row in registers: read once, reused for every key
    `  var q: array<f32, ${d}>;`,
    `  for (var c = 0u; c < ${u(d)}; c++) { q[c] = ${A(at.q)}[qb + c] * ${f(s.scale)}; }`,
    `  var acc: array<f32, ${dv}>;`,
    // finite lowest instead of -inf: exp(m_old - m_new) is then 0, never NaN, on the first key
    '  var m = -3.4028234663852886e38;',
    '  var l = 0.0;',
    `  let n = ${last};`,
    '  for (var j = 0u; j < n; j++) {',
    '    var sc = 0.0;',
    `    let kr = ${rowOffset(at.k, kvHeads, sk, d, 'kvh', 'j')};`,
    `    for (var c = 0u; c < ${u(d)}; c++) { sc = fma(q[c], ${A(at.k)}[kr + c], sc); }`,
    '    let mn = max(m, sc);',
    '    let corr = exp(m - mn);',
    '    let p = exp(sc - mn);',
    '    l = l * corr + p;',
    `    let vr = ${rowOffset(at.v, kvHeads, sk, dv, 'kvh', 'j')};`,
    `    for (var c = 0u; c < ${u(dv)}; c++) { acc[c] = fma(p, ${A(at.v)}[vr + c], acc[c] * corr); }`,
    '    m = mn;',
    '  }',
    `  let ob = ${rowOffset(at.out, heads, sq, dv, 'h', 'i')};`,
    `  for (var c = 0u; c < ${u(dv)}; c++) { ${A(at.out)}[ob + c] = acc[c] / l; }`,
    '}',
    ...mainOf(rows),
  ].join('\n');
  return compiled(kernel, code, rows, arenas);
}

/** The arenas the operands live in, sorted: one binding each. */
const arenasOf = (at: AttentionOperands): number[] => [...new Set([at.q.arena, at.k.arena, at.v.arena, at.out.arena])].sort((a, b) => a - b);

/** Element offset of (b, head, position) in t: packed [B, heads, len, width] unless strided. */
function rowOffset(t: TensorAt, nHeads: number, len: number, width: number, head: string, pos: string): string {
  const st = t.strides ?? { batch: nHeads * len * width, head: len * width, seq: width };
  return `${u(t.offset)} + b * ${u(st.batch)} + ${head} * ${u(st.head)} + ${pos} * ${u(st.seq)}`;
}

/** The entry point: thread t attends for work item t < `items`. */
const mainOf = (items: number): string[] => [
  `@compute @workgroup_size(${ATTENTION_WORKGROUP})`,
  'fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {',
  `  let t = gid.x + gid.y * groups.x * ${u(ATTENTION_WORKGROUP)};`,
  `  if (t < ${u(items)}) { attend(t); }`,
  '}',
  '',
];

function compiled(kernel: number, code: string, threads: number, arenas: number[]): CompiledKernel {
  const rolled = rollLoops(code);
  return {
    kernel,
    key: `scion/attention/${hashOf(rolled.slice(rolled.indexOf('\n') + 1))}`,
    code: rolled,
    threads,
    workgroupSize: ATTENTION_WORKGROUP,
    arenas,
  };
}

/**
 * The same attention with R consecutive query rows of one (batch, head) per thread: every key and
 * value row loaded once serves R rows. On lavapipe each storage load costs a loop over the SIMD
 * lanes (research/baselines.md), and one row per thread loads d + dv floats per key for d + dv
 * FMAs; R rows divide the loads by R. Each row keeps its own online softmax; a key a row may not
 * see (causal) leaves it as it was, so every row sums the same keys in the same order with the
 * same operations as the one-row kernel: the same bits.
 */
function renderAttentionRows(kernel: number, s: AttentionShape, at: AttentionOperands, R: number): CompiledKernel {
  const { batch, heads, kvHeads, queries: sq, keys: sk, headDim: d, valueDim: dv } = s;
  const arenas = arenasOf(at);
  const A = (t: TensorAt): string => `A${t.arena}`;
  const tiles = Math.ceil(sq / R);
  const items = batch * heads * tiles;
  const group = heads / kvHeads;
  const Rs = [...Array(R).keys()];
  const each = (line: (r: number) => string): string[] => Rs.map(line);
  const code = [
    `// scion kernel ${kernel}: fused attention [B${batch}, H${heads}/${kvHeads}, Sq${sq}, Sk${sk}, D${d}/${dv}]${s.causal ? ' causal' : ''}, ${R} query rows per thread`,
    ...arenas.map((a, k) => `@group(0) @binding(${k}) var<storage, read_write> A${a}: array<f32>;`),
    '',
    `// Query rows i0..i0+${R - 1}: scores against every key one of them sees, an online softmax each.`,
    'fn attend(t: u32) {',
    `  let i0 = (t % ${u(tiles)}) * ${u(R)};`,
    `  let bh = t / ${u(tiles)};`,
    `  let b = bh / ${u(heads)};`,
    `  let h = bh % ${u(heads)};`,
    `  let kvh = h / ${u(group)};`,
    // rows past the end (sq not a multiple of R) compute row sq − 1 again and store nothing
    ...each((r) => `  let qb${r} = ${rowOffset(at.q, heads, sq, d, 'h', `min(i0 + ${u(r)}, ${u(sq - 1)})`)};`),
    `  var q: array<f32, ${R * d}>;`,
    `  for (var c = 0u; c < ${u(d)}; c++) {`,
    ...each((r) => `    q[${u(r * d)} + c] = ${A(at.q)}[qb${r} + c] * ${f(s.scale)};`),
    '  }',
    `  var acc: array<f32, ${R * dv}>;`,
    ...each((r) => `  var m${r} = -3.4028234663852886e38;`),
    ...each((r) => `  var l${r} = 0.0;`),
    // keys the last row sees (the others see a prefix of them)
    `  let n = ${s.causal ? `min(${u(sk)}, min(i0 + ${u(R - 1)}, ${u(sq - 1)}) + ${u(sk - sq + 1)})` : u(sk)};`,
    '  for (var j = 0u; j < n; j++) {',
    ...each((r) => `    var sc${r} = 0.0;`),
    `    let kr = ${rowOffset(at.k, kvHeads, sk, d, 'kvh', 'j')};`,
    `    for (var c = 0u; c < ${u(d)}; c++) {`,
    `      let kc = ${A(at.k)}[kr + c];`,
    ...each((r) => `      sc${r} = fma(q[${u(r * d)} + c], kc, sc${r});`),
    '    }',
    ...Rs.flatMap((r) => [
      `    let see${r} = ${s.causal ? `j < i0 + ${u(r + sk - sq + 1)}` : 'true'};`,
      `    let mn${r} = select(m${r}, max(m${r}, sc${r}), see${r});`,
      `    let corr${r} = exp(m${r} - mn${r});`,
      `    let p${r} = select(0.0, exp(sc${r} - mn${r}), see${r});`,
      `    l${r} = l${r} * corr${r} + p${r};`,
      `    m${r} = mn${r};`,
    ]),
    `    let vr = ${rowOffset(at.v, kvHeads, sk, dv, 'kvh', 'j')};`,
    `    for (var c = 0u; c < ${u(dv)}; c++) {`,
    `      let vc = ${A(at.v)}[vr + c];`,
    // a key the row does not see leaves its sum untouched (not even 0 × an infinite value)
    ...each((r) => `      acc[${u(r * dv)} + c] = select(acc[${u(r * dv)} + c], fma(p${r}, vc, acc[${u(r * dv)} + c] * corr${r}), see${r});`),
    '    }',
    '  }',
    ...Rs.flatMap((r) => [
      `  if (i0 + ${u(r)} < ${u(sq)}) {`,
      `    let ob = ${rowOffset(at.out, heads, sq, dv, 'h', `(i0 + ${u(r)})`)};`,
      `    for (var c = 0u; c < ${u(dv)}; c++) { ${A(at.out)}[ob + c] = acc[${u(r * dv)} + c] / l${r}; }`,
      '  }',
    ]),
    '}',
    ...mainOf(items),
  ].join('\n');
  return compiled(kernel, code, items, arenas);
}

function hashOf(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0') + text.length.toString(16);
}

/** A kernel-graph attention kernel (compiler/kernel/fuse-attention.ts) at its planned placements. */
export function renderAttentionKernel(kernel: KernelInfo, memory: MemoryPlan, rowsPerThread = 1): CompiledKernel {
  const a = kernel.attention;
  if (a === undefined) throw new Error(`renderAttentionKernel: kernel ${kernel.id} is not an attention`);
  const place = (o: AttentionOperand): TensorAt => {
    const p = memory.placements[o.buffer];
    if (p === undefined) throw new Error(`renderAttentionKernel: buffer ${o.buffer} is not placed`);
    return { arena: p.arena, offset: p.offset + o.offset, strides: o.strides };
  };
  return renderAttention(kernel.id, a, { q: place(a.q), k: place(a.k), v: place(a.v), out: place(a.out) }, rowsPerThread);
}
