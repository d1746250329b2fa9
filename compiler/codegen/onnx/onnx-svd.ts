// svd_values and svd_values_grad in ONNX (opset 17 has no SVD): the reference's one-sided Jacobi
// (runtime/cpu/kernels-linalg.ts) as an ONNX Loop, in f64 as the reference computes.
//
// One-sided (Hestenes) Jacobi is Jacobi's eigenvalue method on the smaller Gram matrix AᵀA
// (n = min(M, N) columns; a wide matrix is transposed first, as the reference does), applied
// without forming AᵀA: a rotation of columns p, q reads α = ‖a_p‖², β = ‖a_q‖², γ = a_p·a_q (the
// Gram entries) and rotates the columns of A and of V. Forming AᵀA explicitly would square the
// condition number: σ₂ of [[1, 2], [3, 4]] comes out ~5e-6 off in f32, against the 1e-6 every
// backend is held to; on the columns, σ_j = ‖a_j‖ keeps relative accuracy for small σ.
//
// Rotations run in parallel (round-robin ordering): each round rotates n/2 disjoint pairs at once,
// gathered from A by constant index tables and put back by one Gather with the inverse
// permutation; n − 1 rounds (n padded to even with a zero column that never rotates) are a sweep
// that meets every pair once. The Loop runs round after round and stops as the reference does:
// after the first sweep in which no pair needed a rotation (max |γ|/√(αβ) ≤ 1e-15), or at the
// reference's cap of 60 sweeps. So the sweep count is the reference's, not a guess; Jacobi
// converges quadratically, and in this parallel ordering random matrices took 7 sweeps at 16×64
// (BA-LoRA's features), 10–11 at 64×64 and 12 at 128×128, the last being the sweep that finds
// nothing to rotate (five draws each, 2026-12-07), far below the cap.
//
// The order of rotations differs from the reference's cyclic one, so results agree to f64
// rounding, not bit for bit. Sorting is TopK (descending, ties to the lower column, as the
// reference's sort). The VJP Σ g_k u_k v_kᵀ is U diag(g) Vᵀ with u_k = a_k/σ_k (0 where σ_k = 0,
// as in the reference): sign choices cancel in each u_k v_kᵀ.

import type { Node } from '../../ir/graph.ts';
import { ELEM } from './onnx-proto.ts';
import type { OnnxCtx, OnnxRule } from './onnx-rules.ts';

/** The reference's limits: stop after a sweep with every |γ|/√(αβ) ≤ 1e-15, at most 60 sweeps. */
const CONVERGED = 1e-15;
const MAX_SWEEPS = 60;

/** Round-robin pairings of n (even) columns: round r pairs p[r][i] with q[r][i]; inv undoes [p, q]. */
export function roundRobin(n: number): { p: number[][]; q: number[][]; inv: number[][] } {
  const others = Array.from({ length: n - 1 }, (_v, k) => k + 1);
  const p: number[][] = [];
  const q: number[][] = [];
  const inv: number[][] = [];
  for (let r = 0; r < n - 1; r++) {
    const ring = [0, ...others.slice(r), ...others.slice(0, r)];
    const pr: number[] = [];
    const qr: number[] = [];
    for (let i = 0; i < n / 2; i++) {
      const a = ring[i] as number;
      const b = ring[n - 1 - i] as number;
      pr.push(Math.min(a, b));
      qr.push(Math.max(a, b));
    }
    const order = [...pr, ...qr];
    const back = new Array<number>(n);
    order.forEach((col, k) => {
      back[col] = k;
    });
    p.push(pr);
    q.push(qr);
    inv.push(back);
  }
  return { p, q, inv };
}

interface Decomposed {
  /** σ descending, [B, n] f64. */
  readonly s: string;
  /** TopK's column order, [B, n] int64. */
  readonly order: string;
  /** Rotated columns (a_j = σ_j u_j), [B, r, n] f64, and V, [B, n, n] f64, in Jacobi's column order. */
  readonly a: string;
  readonly v: string;
  readonly batch: number;
  readonly rows: number;
  readonly n: number;
  /** The matrix was wide (M < N) and was transposed. */
  readonly wide: boolean;
}

/** Singular values (and the rotated columns and V) of x[..., M, N], by one-sided Jacobi in f64. */
function decompose(c: OnnxCtx, x: string, shape: readonly number[]): Decomposed {
  const m = shape[shape.length - 2] as number;
  const nCols = shape[shape.length - 1] as number;
  const batch = shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const wide = m < nCols;
  const rows = Math.max(m, nCols);
  const n = Math.min(m, nCols);
  const f64 = (v: string): string => c.op('Cast', [v], { to: { int: ELEM.DOUBLE } });
  let a = f64(c.op('Reshape', [x, c.i64([batch, m, nCols])]));
  if (wide) a = c.op('Transpose', [a], { perm: { ints: [0, 2, 1] } }); // [B, rows, n]
  const even = n + (n % 2); // a zero column pads an odd n; it has γ = 0 with every column, so never rotates
  if (even > n) a = c.op('Pad', [a, c.i64([0, 0, 0, 0, 0, even - n]), c.f64(0)]);
  const eye = Array.from({ length: even * even }, (_v, k) => (Math.floor(k / even) === k % even ? 1 : 0));
  const v0 = f64(c.op('Expand', [c.constant(eye, [even, even], 'f32'), c.i64([batch, even, even])]));

  let [aEnd, vEnd] = [a, v0];
  if (even > 1) {
    const rounds = even - 1;
    const t = roundRobin(even);
    const pTab = c.i64(t.p.flat(), [rounds, even / 2]);
    const qTab = c.i64(t.q.flat(), [rounds, even / 2]);
    const invTab = c.i64(t.inv.flat(), [rounds, even]);
    const half = (v: number): string => c.f64(v);
    const [aOut, vOut] = c.loop(
      MAX_SWEEPS * rounds,
      [
        { init: a, elem: ELEM.DOUBLE, shape: [batch, rows, even] },
        { init: v0, elem: ELEM.DOUBLE, shape: [batch, even, even] },
        { init: c.f64(0), elem: ELEM.DOUBLE, shape: [] },
      ],
      (iter, [aIn, vIn, offIn]) => {
        const r = c.op('Mod', [iter, c.i64([rounds], [])]);
        const pI = c.op('Gather', [pTab, r], { axis: { int: 0 } }); // [n/2]
        const qI = c.op('Gather', [qTab, r], { axis: { int: 0 } });
        const invI = c.op('Gather', [invTab, r], { axis: { int: 0 } }); // [n]
        const cols = (m2: string, idx: string): string => c.op('Gather', [m2, idx], { axis: { int: 2 } });
        const [ap, aq] = [cols(aIn as string, pI), cols(aIn as string, qI)]; // [B, rows, n/2]
        const dot = (u: string, w: string): string => c.op('ReduceSum', [c.op('Mul', [u, w]), c.i64([1])], { keepdims: { int: 1 } }); // [B, 1, n/2]
        const alpha = dot(ap, ap);
        const beta = dot(aq, aq);
        const gamma = dot(ap, aq);
        // The reference skips a pair when γ = 0 or |γ| ≤ 1e-15·√(αβ); then c = 1, s = 0.
        const norm = c.op('Sqrt', [c.op('Mul', [alpha, beta])]);
        const absG = c.op('Abs', [gamma]);
        const skip = c.op('Or', [c.op('Equal', [gamma, half(0)]), c.op('LessOrEqual', [absG, c.op('Mul', [norm, half(CONVERGED)])])]);
        const safe = (v: string): string => c.op('Where', [skip, half(1), v]);
        // ζ = (β − α)/2γ, t = sign(ζ)/(|ζ| + √(1 + ζ²)) with sign(0) = 1, cs = 1/√(1 + t²), sn = cs·t.
        const zeta = c.op('Div', [c.op('Sub', [beta, alpha]), c.op('Mul', [safe(gamma), half(2)])]);
        const sign = c.op('Where', [c.op('Less', [zeta, half(0)]), half(-1), half(1)]);
        const tan = c.op('Div', [sign, c.op('Add', [c.op('Abs', [zeta]), c.op('Sqrt', [c.op('Add', [half(1), c.op('Mul', [zeta, zeta])])])])]);
        const cs0 = c.op('Reciprocal', [c.op('Sqrt', [c.op('Add', [half(1), c.op('Mul', [tan, tan])])])]);
        const cs = c.op('Where', [skip, half(1), cs0]);
        const sn = c.op('Where', [skip, half(0), c.op('Mul', [cs0, tan])]);
        const rotate = (m2: string): string => {
          const [xp, xq] = [cols(m2, pI), cols(m2, qI)];
          const np = c.op('Sub', [c.op('Mul', [cs, xp]), c.op('Mul', [sn, xq])]);
          const nq = c.op('Add', [c.op('Mul', [sn, xp]), c.op('Mul', [cs, xq])]);
          return cols(c.op('Concat', [np, nq], { axis: { int: 2 } }), invI);
        };
        // off: the largest |γ|/√(αβ) over the pairs rotated this sweep (the reference's measure).
        const ratio = c.op('Where', [skip, half(0), c.op('Div', [absG, safe(norm)])]);
        const off = c.op('Max', [offIn as string, c.op('ReduceMax', [ratio], { keepdims: { int: 0 } })]);
        const sweepEnd = c.op('Equal', [r, c.i64([rounds - 1], [])]);
        const go = c.op('Or', [c.op('Not', [sweepEnd]), c.op('Greater', [off, half(CONVERGED)])]);
        return { go, next: [rotate(aIn as string), rotate(vIn as string), c.op('Where', [sweepEnd, half(0), off])] };
      },
    ) as [string, string, string];
    [aEnd, vEnd] = [aOut, vOut];
  }
  if (even > n) {
    aEnd = c.op('Slice', [aEnd, c.i64([0]), c.i64([n]), c.i64([2])]);
    vEnd = c.op('Slice', [vEnd, c.i64([0, 0]), c.i64([n, n]), c.i64([1, 2])]);
  }
  const norms = c.op('Sqrt', [c.op('ReduceSum', [c.op('Mul', [aEnd, aEnd]), c.i64([1])], { keepdims: { int: 0 } })]); // [B, n]
  const [s, order] = c.opN('TopK', [norms, c.i64([n])], 2, { axis: { int: -1 }, largest: { int: 1 }, sorted: { int: 1 } }) as [string, string];
  return { s, order, a: aEnd, v: vEnd, batch, rows, n, wide };
}

/** Columns of m [B, k, n] in TopK's order. */
function sortedColumns(c: OnnxCtx, d: Decomposed, m: string, k: number): string {
  const idx = c.op('Expand', [c.op('Unsqueeze', [d.order, c.i64([1])]), c.i64([d.batch, k, d.n])]);
  return c.op('GatherElements', [m, idx], { axis: { int: 2 } });
}

const back = (c: OnnxCtx, v: string, node: Node): string => c.op('Cast', [c.op('Reshape', [v, c.i64(node.shape)])], { to: { int: c.elem(node.dtype) } });

export const SVD_RULES: { svd_values: OnnxRule; svd_values_grad: OnnxRule } = {
  svd_values: { emit: (c) => back(c, decompose(c, c.ins[0] as string, (c.inNodes[0] as Node).shape).s, c.node) },
  // Σ_k g_k u_k v_kᵀ = U diag(g) Vᵀ, u_k = a_k/σ_k (0 where σ_k = 0); a wide x gives its transpose.
  svd_values_grad: {
    emit: (c) => {
      const d = decompose(c, c.ins[0] as string, (c.inNodes[0] as Node).shape);
      const zero = c.f64(0);
      const pos = c.op('Greater', [d.s, zero]); // [B, n]
      const scale = c.op('Where', [
        pos,
        c.op('Div', [c.op('Cast', [c.ins[1] as string], { to: { int: ELEM.DOUBLE } }), c.op('Where', [pos, d.s, c.f64(1)])]),
        zero,
      ]);
      const g = c.op('Reshape', [scale, c.i64([d.batch, 1, d.n])]); // g_k/σ_k
      const ug = c.op('Mul', [sortedColumns(c, d, d.a, d.rows), g]); // [B, rows, n]
      const vt = c.op('Transpose', [sortedColumns(c, d, d.v, d.n)], { perm: { ints: [0, 2, 1] } });
      const grad = c.op('MatMul', [ug, vt]); // [B, rows, n]
      return back(c, d.wide ? c.op('Transpose', [grad], { perm: { ints: [0, 2, 1] } }) : grad, c.node);
    },
  },
};
