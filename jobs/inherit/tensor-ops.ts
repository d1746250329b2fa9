// The few dense operations inheritance needs on host tensors: index-select along several axes at
// once, per-unit norms along one axis (l1/l2 importance), and choosing the top-k units while
// keeping their original order (so a child keeps the parent's ordering of heads and neurons).

/** A dense row-major float tensor. */
export interface Dense {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Keeps, on each axis, the listed indices (null keeps the whole axis), in the listed order.
 *
 * @example
 * selectAxes({ shape: [3, 2], data }, [[2, 0], null]); // rows 2 and 0, both columns → [2, 2]
 */
export function selectAxes(t: Dense, keep: readonly (readonly number[] | null)[]): Dense {
  const rank = t.shape.length;
  if (keep.length !== rank) throw new Error(`selectAxes: ${keep.length} index lists for a rank-${rank} tensor`);
  const lists = t.shape.map((n, a) => {
    const k = keep[a];
    if (k === null || k === undefined) return null;
    for (const i of k) if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`selectAxes: index ${i} out of range for axis ${a} of size ${n}`);
    return k;
  });
  if (lists.every((l) => l === null)) return t;
  const outShape = t.shape.map((n, a) => lists[a]?.length ?? n);
  const out = new Float32Array(numel(outShape));
  const strides = new Array<number>(rank);
  let s = 1;
  for (let a = rank - 1; a >= 0; a--) {
    strides[a] = s;
    s *= t.shape[a] as number;
  }
  // Walk the output in row-major order; the innermost axis is copied as a run when whole.
  const inner = rank - 1;
  const idx = new Array<number>(rank).fill(0);
  const source = (a: number, i: number): number => (lists[a] === null ? i : ((lists[a] as readonly number[])[i] as number));
  const innerWhole = lists[inner] === null;
  const innerLen = outShape[inner] ?? 1;
  let o = 0;
  const outer = rank === 0 ? 1 : numel(outShape.slice(0, inner));
  for (let r = 0; r < outer; r++) {
    let base = 0;
    for (let a = 0; a < inner; a++) base += source(a, idx[a] as number) * (strides[a] as number);
    if (rank === 0) out[o++] = t.data[0] as number;
    else if (innerWhole) {
      out.set(t.data.subarray(base, base + innerLen), o);
      o += innerLen;
    } else {
      for (let j = 0; j < innerLen; j++) out[o++] = t.data[base + source(inner, j)] as number;
    }
    for (let a = inner - 1; a >= 0; a--) {
      idx[a] = (idx[a] as number) + 1;
      if ((idx[a] as number) < (outShape[a] as number)) break;
      idx[a] = 0;
    }
  }
  return { shape: outShape, data: out };
}

/**
 * Adds each unit's |w| (l1) or w² (l2, squared: the caller takes √ of the group's sum) into
 * `into[unit]`. A unit is `unit` consecutive indices of `axis` starting at `offset`, for `units`
 * units (a head is head_dim rows; a GroupNorm group is C/G channels).
 */
export function accumulateUnitNorms(t: Dense, axis: number, offset: number, unit: number, units: number, p: 1 | 2, into: Float64Array): void {
  const n = t.shape[axis];
  if (n === undefined) throw new Error(`accumulateUnitNorms: no axis ${axis} in [${t.shape.join(', ')}]`);
  if (offset + unit * units > n) throw new Error(`accumulateUnitNorms: ${units}×${unit} units from ${offset} exceed axis ${axis} of size ${n}`);
  const inner = numel(t.shape.slice(axis + 1));
  const outer = numel(t.shape.slice(0, axis));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < unit * units; i++) {
      const u = Math.floor(i / unit);
      const start = (o * n + offset + i) * inner;
      let acc = 0;
      for (let k = 0; k < inner; k++) {
        const v = t.data[start + k] as number;
        acc += p === 1 ? Math.abs(v) : v * v;
      }
      into[u] = (into[u] as number) + acc;
    }
  }
}

/**
 * The `k` highest-scoring indices, returned in ascending index order. Ties go to the lower index,
 * so equal scores (an untrained parent, a constant norm) keep the first units: deterministic.
 */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  const n = scores.length;
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`topK: cannot keep ${k} of ${n}`);
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return order.slice(0, k).sort((a, b) => a - b);
}

/** Expands unit indices to element indices on an axis: unit u covers [offset + u·size, … + size). */
export function expandUnits(units: readonly number[], size: number, offset = 0): number[] {
  const out: number[] = [];
  for (const u of units) for (let j = 0; j < size; j++) out.push(offset + u * size + j);
  return out;
}

/** Sets to 0, in place, the listed units (`unit` consecutive indices from `offset`) along `axis`. */
export function zeroUnits(t: Dense, axis: number, offset: number, unit: number, units: readonly number[]): void {
  const n = t.shape[axis];
  if (n === undefined) throw new Error(`zeroUnits: no axis ${axis} in [${t.shape.join(', ')}]`);
  const inner = numel(t.shape.slice(axis + 1));
  const outer = numel(t.shape.slice(0, axis));
  for (let o = 0; o < outer; o++) {
    for (const u of units) {
      const start = (o * n + offset + u * unit) * inner;
      t.data.fill(0, start, start + unit * inner);
    }
  }
}
