// Strided iteration without per-element index arithmetic: an output of some shape, read from
// operands through element strides (0 on broadcast axes, permuted strides for a permute, offset
// strides for a slice), is split into rows along its innermost axis after merging every run of axes
// that all operands traverse contiguously. A kernel then runs a tight loop per row; the only index
// array is one start offset per row and operand (rows = size / len, usually small).
//
// Example: a [16, 196, 96] · b [16, 1, 96] merges nothing (b breaks contiguity at axis 1), giving
// 3136 rows of 96 with steps (1, 1); a [4, 5] + scalar gives one row of 20 with steps (1, 0).

import { offsets, size } from './kernel.ts';

export interface Rows {
  /** Number of rows; the output's row r starts at r · len. */
  count: number;
  /** Elements per row. */
  len: number;
  /** Per operand: the element offset where each row starts. */
  starts: Int32Array[];
  /** Per operand: the element step along a row (0 for a broadcast operand). */
  steps: number[];
}

interface Axis {
  size: number;
  st: number[];
}

/**
 * Rows of `shape` (row-major output), operand k read at element stride strides[k][i] along axis i
 * starting from bases[k] (default 0).
 */
export function rowsOf(shape: readonly number[], strides: readonly (readonly number[])[], bases?: readonly number[]): Rows {
  const merged: Axis[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const st = strides.map((s) => s[i] as number);
    const prev = merged[merged.length - 1];
    // prev (outer) and this axis form one axis when each operand's outer stride spans the inner one.
    if (prev && st.every((s, k) => prev.st[k] === s * d)) {
      prev.size *= d;
      prev.st = st;
    } else merged.push({ size: d, st });
  });
  const inner = merged.pop() ?? { size: size(shape), st: strides.map(() => 0) };
  const outerShape = merged.map((a) => a.size);
  return {
    count: size(outerShape),
    len: inner.size,
    starts: strides.map((_s, k) =>
      offsets(
        outerShape,
        merged.map((a) => a.st[k] as number),
        bases?.[k] ?? 0,
      ),
    ),
    steps: inner.st,
  };
}
