// Small helpers for writing WGSL from TypeScript: literals and index arithmetic. Every value in a
// kernel is f32 (see kernel-graph.ts); every index is u32.

export function u(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`wgsl: ${n} is not a u32 index`);
  return `${n}u`;
}

/**
 * An f32 literal. WGSL has no literal for inf and nan and rejects them in constant expressions,
 * so they are bitcast at run time from private variables (declared in render-node's PRELUDE).
 */
export function f(v: number): string {
  if (Number.isNaN(v)) return 'bitcast<f32>(BITS_NAN)';
  const r = Math.fround(v);
  if (r === Infinity) return 'bitcast<f32>(BITS_INF)';
  if (r === -Infinity) return 'bitcast<f32>(BITS_NINF)';
  const s = String(r);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i] as number;
  }
  return s;
}

/** Strides reading `from` (numpy-broadcastable to `to`) at each position of `to`; 0 on broadcast axes. */
export function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const st = stridesOf(from);
  return to.map((_d, i) => {
    const k = from.length - to.length + i;
    return k < 0 || from[k] === 1 ? 0 : (st[k] as number);
  });
}

let fresh = 0;

/**
 * Lines computing `let <name> = base + Σ coord_k(idx over shape) · strides[k]` and the name.
 * Returns `idx` itself when the map is the identity (same row-major layout).
 */
export function remap(lines: string[], idx: string, shape: readonly number[], strides: readonly number[], base = 0): string {
  const natural = stridesOf(shape);
  if (base === 0 && shape.every((d, k) => d === 1 || strides[k] === natural[k])) return idx;
  if (shape.every((d, k) => d === 1 || strides[k] === 0)) return u(base);
  const name = `m${fresh++}`;
  lines.push(`var ${name}_t = ${idx};`, `var ${name} = ${u(base)};`);
  for (let k = shape.length - 1; k >= 0; k--) {
    const d = shape[k] as number;
    if (d === 1) continue;
    const s = strides[k] as number;
    // the leading axis needs no modulo: the index is in range
    if (s !== 0) lines.push(k === 0 ? `${name} += ${name}_t * ${u(s)};` : `${name} += (${name}_t % ${u(d)}) * ${u(s)};`);
    if (k > 0) lines.push(`${name}_t = ${name}_t / ${u(d)};`);
  }
  return name;
}

/** Resets the fresh-name counter so the same kernel always renders the same text. */
export function resetNames(): void {
  fresh = 0;
}
