// Fused softmax attention: a kernel-graph rewrite after fusion. Fusion alone makes attention two
// kernels — scores + mask + softmax (writing P, [B, H, Sq, Sk]) and P·V — so the score matrix
// round-trips through memory. Where the pattern below is found and P has no other reader, the two
// become one kernel (codegen/wgsl/render-attention.ts: online softmax, P never stored).
//
//   P = div(E, reduce_sum(E, last, keepdim))      E = exp(sub(X, reduce_max(X, last, keepdim)))
//   X = where(le(iota_j, iota_i), S, full(≤ −1e30)) | S          (causal mask, or none)
//   S = mul(M, full c) | mul(full c, M) | div(M, full c) | M      (scale)
//   M = matmul(Q, permute(K, swap last two))      out = matmul(P, V)
//
// Q, K and V must be views (reshape, permute, broadcast_to, slice) of materialized buffers whose index map
// is affine in (batch, head, seq) with a contiguous feature axis; K and V may repeat kv heads
// (GQA: reshape → broadcast_to → reshape). Used when it applies, which is inference and
// forward-only graphs: in a training graph the backward reads P, so it stays materialized.

import type { Graph, Node } from '../ir/graph.ts';
import { numel } from '../ir/graph.ts';
import type { AttentionInfo, AttentionOperand, KernelGraph, KernelInfo } from './kernel-graph.ts';

/** Operands larger than this are not checked element by element (the check is O(size)). */
const MAX_CHECKED = 1 << 22;

const node = (g: Graph, id: number): Node => g.nodes[id] as Node;
const arg = (g: Graph, n: Node, k: number): Node => node(g, n.inputs[k] as number);
const lastAxisOnly = (n: Node, rank: number): boolean => {
  const axes = n.attrs['axes'] as readonly number[] | undefined;
  return axes !== undefined && axes.length === 1 && axes[0] === rank - 1 && n.attrs['keepdim'] === true;
};
const fullValue = (n: Node): number | undefined => (n.op === 'full' ? (n.attrs['value'] as number) : undefined);

interface Match {
  /** P·V matmul (the fused kernel's root) and the softmax output P. */
  out: number;
  p: number;
  q: number;
  k: number;
  v: number;
  causal: boolean;
  scale: number;
}

/** The attention rooted at matmul `o`, or undefined. */
function matchAt(g: Graph, o: Node): Match | undefined {
  if (o.op !== 'matmul' || o.shape.length !== 4) return undefined;
  const p = arg(g, o, 0);
  const rank = p.shape.length;
  if (p.op !== 'div') return undefined;
  const [e, sum] = [arg(g, p, 0), arg(g, p, 1)];
  if (e.op !== 'exp' || sum.op !== 'reduce_sum' || sum.inputs[0] !== e.id || !lastAxisOnly(sum, rank)) return undefined;
  const d = arg(g, e, 0);
  if (d.op !== 'sub') return undefined;
  const [x, max] = [arg(g, d, 0), arg(g, d, 1)];
  if (max.op !== 'reduce_max' || max.inputs[0] !== x.id || !lastAxisOnly(max, rank)) return undefined;
  let s = x;
  let causal = false;
  if (x.op === 'where') {
    const [mask, scores, fill] = [arg(g, x, 0), arg(g, x, 1), arg(g, x, 2)];
    const v = fullValue(fill);
    if (v === undefined || v > -1e30 || !isCausalMask(g, mask, p.shape)) return undefined;
    s = scores;
    causal = true;
  }
  let scale = 1;
  let m = s;
  if (s.op === 'mul' || s.op === 'div') {
    const [a, b] = [arg(g, s, 0), arg(g, s, 1)];
    const cb = fullValue(b);
    const ca = s.op === 'mul' ? fullValue(a) : undefined;
    if (cb !== undefined && cb !== 0) [m, scale] = [a, s.op === 'mul' ? cb : 1 / cb];
    else if (ca !== undefined) [m, scale] = [b, ca];
    else return undefined;
  }
  if (m.op !== 'matmul' || m.shape.length !== 4) return undefined;
  const kt = arg(g, m, 1);
  const perm = kt.attrs['perm'] as readonly number[] | undefined;
  if (kt.op !== 'permute' || perm === undefined || perm.join() !== '0,1,3,2') return undefined;
  return { out: o.id, p: p.id, q: m.inputs[0] as number, k: kt.inputs[0] as number, v: o.inputs[1] as number, causal, scale };
}

/** le(iota over keys, iota over queries) on [Sq, Sk] with Sq = Sk: key j visible to query i iff j ≤ i. */
function isCausalMask(g: Graph, mask: Node, scores: readonly number[]): boolean {
  const [sq, sk] = scores.slice(-2) as [number, number];
  if (sq !== sk || mask.shape.length !== 2 || mask.shape[0] !== sq || mask.shape[1] !== sk) return false;
  const [a, b] = [arg(g, mask, 0), arg(g, mask, 1)];
  const iotaAxis = (n: Node): number | undefined => (n.op === 'iota' ? (n.attrs['axis'] as number) : undefined);
  if (mask.op === 'le') return iotaAxis(a) === 1 && iotaAxis(b) === 0;
  if (mask.op === 'ge') return iotaAxis(a) === 0 && iotaAxis(b) === 1;
  return false;
}

/** Follows views from `id` at flat index `i` down to a buffer: [buffer node, index], or undefined. */
function source(g: Graph, isBuffer: (id: number) => boolean, id: number, i: number): [number, number] | undefined {
  let n = node(g, id);
  let idx = i;
  for (;;) {
    if (isBuffer(n.id)) return [n.id, idx];
    const x = arg(g, n, 0);
    if (n.op === 'reshape') {
      // same flat index
    } else if (n.op === 'permute') {
      const perm = n.attrs['perm'] as readonly number[];
      const coords = unflatten(idx, n.shape);
      const src = new Array<number>(perm.length).fill(0);
      perm.forEach((p, k) => {
        src[p] = coords[k] as number;
      });
      idx = flatten(src, x.shape);
    } else if (n.op === 'broadcast_to') {
      const coords = unflatten(idx, n.shape);
      const off = n.shape.length - x.shape.length;
      idx = flatten(
        x.shape.map((d, k) => (d === 1 ? 0 : (coords[k + off] as number))),
        x.shape,
      );
    } else if (n.op === 'slice') {
      const starts = n.attrs['starts'] as readonly number[];
      idx = flatten(
        unflatten(idx, n.shape).map((c, k) => c + (starts[k] as number)),
        x.shape,
      );
    } else return undefined;
    n = x;
  }
}

function unflatten(i: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  let r = i;
  for (let k = shape.length - 1; k >= 0; k--) {
    const d = shape[k] as number;
    c[k] = r % d;
    r = Math.floor(r / d);
  }
  return c;
}

function flatten(c: readonly number[], shape: readonly number[]): number {
  return c.reduce((acc, x, k) => acc * (shape[k] as number) + x, 0);
}

/**
 * Operand `id` ([B, H, S, W]) as one buffer with affine strides, heads repeated `group` times
 * (h reads head h / group of the buffer), checked at every element; undefined where not.
 */
function affine(g: Graph, isBuffer: (id: number) => boolean, id: number, group: number): { buffer: number; op: AttentionOperand } | undefined {
  const n = node(g, id);
  if (numel(n.shape) > MAX_CHECKED) return undefined;
  const [B, H, S, W] = n.shape as [number, number, number, number];
  const at = (b: number, h: number, s: number, w: number): [number, number] | undefined => source(g, isBuffer, id, ((b * H + h) * S + s) * W + w);
  const base = at(0, 0, 0, 0);
  if (base === undefined) return undefined;
  const step = (b: number, h: number, s: number): number => ((at(b, h, s, 0) ?? [-1, 0])[1] as number) - base[1];
  const strides = { batch: B > 1 ? step(1, 0, 0) : 0, head: H > group ? step(0, group, 0) : 0, seq: S > 1 ? step(0, 0, 1) : 0 };
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let s = 0; s < S; s++)
        for (let w = 0; w < W; w++) {
          const got = at(b, h, s, w);
          const want = base[1] + b * strides.batch + Math.floor(h / group) * strides.head + s * strides.seq + w;
          if (got === undefined || got[0] !== base[0] || got[1] !== want) return undefined;
        }
  return { buffer: base[0], op: { buffer: -1, offset: base[1], strides } };
}

/**
 * `kg` with every recognised attention (scores kernel + P·V kernel) replaced by one fused
 * kernel, or `kg` itself when none applies. Kernel ids are renumbered in dispatch order.
 */
export function fuseAttention(g: Graph, kg: KernelGraph): KernelGraph {
  const bufferOf = new Map(kg.buffers.map((b) => [b.node, b.id]));
  const isBuffer = (id: number): boolean => bufferOf.has(id);
  const writer = new Map<number, number>();
  const readers = new Map<number, number[]>();
  kg.kernels.forEach((k, i) => {
    for (const b of k.outputs) writer.set(b, i);
    for (const b of k.inputs) readers.set(b, [...(readers.get(b) ?? []), i]);
  });
  const replaced = new Map<number, KernelInfo | null>();
  kg.kernels.forEach((ok, oi) => {
    const seg = ok.segments[0];
    if (ok.kind !== 'wgsl' || ok.segments.length !== 1 || seg === undefined) return;
    const m = matchAt(g, node(g, seg.root));
    const pBuf = m === undefined ? undefined : bufferOf.get(m.p);
    if (m === undefined || pBuf === undefined || kg.outputs.some((o) => o.buffer === pBuf)) return;
    const si = writer.get(pBuf);
    const sk = si === undefined ? undefined : kg.kernels[si];
    // P is written by a kernel of its own and read by this one only.
    if (si === undefined || sk === undefined || sk.segments.length !== 1 || sk.segments[0]?.root !== m.p) return;
    if ((readers.get(pBuf) ?? []).some((r) => r !== oi)) return;
    const [qn, kn, vn] = [node(g, m.q), node(g, m.k), node(g, m.v)];
    const [B, H, Sq, D] = qn.shape as [number, number, number, number];
    const [Sk, Dv] = [kn.shape[2] as number, vn.shape[3] as number];
    const q = affine(g, isBuffer, m.q, 1);
    let kv: [NonNullable<ReturnType<typeof affine>>, NonNullable<ReturnType<typeof affine>>, number] | undefined;
    // Fewest kv heads first (largest group) that both k and v can be read with.
    for (let group = H; group >= 1 && kv === undefined; group--) {
      if (H % group !== 0) continue;
      const k = affine(g, isBuffer, m.k, group);
      const v = k === undefined ? undefined : affine(g, isBuffer, m.v, group);
      if (k !== undefined && v !== undefined) kv = [k, v, H / group];
    }
    if (q === undefined || kv === undefined) return;
    const [k, v, kvHeads] = kv;
    const outBuf = ok.outputs[0] as number;
    const packed = (heads: number, len: number, w: number) => ({ batch: heads * len * w, head: len * w, seq: w });
    const attention: AttentionInfo = {
      batch: B,
      heads: H,
      kvHeads,
      queries: Sq,
      keys: Sk,
      headDim: D,
      valueDim: Dv,
      causal: m.causal,
      scale: m.scale,
      q: { ...q.op, buffer: bufferOf.get(q.buffer) as number },
      k: { ...k.op, buffer: bufferOf.get(k.buffer) as number },
      v: { ...v.op, buffer: bufferOf.get(v.buffer) as number },
      out: { buffer: outBuf, offset: 0, strides: packed(H, Sq, Dv) },
    };
    const inputs = [...new Set([attention.q.buffer, attention.k.buffer, attention.v.buffer])].sort((a, b) => a - b);
    replaced.set(si, null);
    replaced.set(oi, {
      ...ok,
      name: `attention(${m.causal ? 'causal' : 'full'}): ${sk.name} | ${ok.name}`.slice(0, 80),
      nodes: [...new Set([...sk.nodes, ...ok.nodes])].sort((a, b) => a - b),
      segments: [{ root: m.out, output: outBuf, rows: B * H * Sq, cols: 1 }],
      inputs,
      outputs: [outBuf],
      inplace: [],
      attention,
    });
  });
  if (replaced.size === 0) return kg;
  const kept: KernelInfo[] = [];
  kg.kernels.forEach((k, i) => {
    const r = replaced.has(i) ? replaced.get(i) : k;
    if (r !== null && r !== undefined) kept.push(r);
  });
  // A kernel only the replaced ones read is dead now: the scores, where fusion materialized the
  // q·kᵀ matmul (fuse-kernels.ts maxRowContraction) instead of inlining it into the softmax.
  const outputs = new Set(kg.outputs.map((o) => o.buffer));
  let live = kept;
  for (let changed = true; changed; ) {
    const read = new Set(live.flatMap((k) => k.inputs));
    const next = live.filter((k) => k.kind === 'host' || k.outputs.some((b) => read.has(b) || outputs.has(b)));
    changed = next.length !== live.length;
    live = next;
  }
  return { ...kg, kernels: live.map((k, id) => ({ ...k, id })) };
}
