// Axis scales and ticks shared by the SVG and PNG renderers: "nice" linear ticks (1, 2, 5 × 10^k)
// and decade ticks for a log axis, with domains widened to the outer ticks so curves never touch
// the frame between ticks.

export interface Axis {
  /** Data domain after widening to nice bounds. */
  lo: number;
  hi: number;
  log: boolean;
  ticks: number[];
}

/** The 1, 2, 5 × 10^k step nearest to range / target. */
export function niceStep(range: number, target: number): number {
  const raw = range / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/** A linear axis over [min, max] with about `target` ticks. */
export function linearAxis(min: number, max: number, target = 5): Axis {
  if (!(Number.isFinite(min) && Number.isFinite(max))) return linearAxis(0, 1, target);
  if (min === max) return linearAxis(min - (Math.abs(min) || 1) / 2, max + (Math.abs(max) || 1) / 2, target);
  const step = niceStep(max - min, target);
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(clean(lo + i * step));
  return { lo: clean(lo), hi: clean(hi), log: false, ticks };
}

/** A log10 axis over positive [min, max]: whole decades, with 2× and 5× ticks when they are few. */
export function logAxis(min: number, max: number): Axis {
  if (!(min > 0 && max > 0 && Number.isFinite(max))) throw new Error(`logAxis needs positive finite bounds, got [${min}, ${max}]`);
  const a = Math.floor(Math.log10(min) + 1e-9);
  let b = Math.ceil(Math.log10(max) - 1e-9);
  if (b === a) b = a + 1;
  const ticks: number[] = [];
  for (let e = a; e <= b; e++) {
    ticks.push(clean(10 ** e));
    if (b - a <= 2 && e < b) ticks.push(clean(2 * 10 ** e), clean(5 * 10 ** e));
  }
  return { lo: 10 ** a, hi: 10 ** b, log: true, ticks };
}

/** Position of v in [0, 1] along the axis. */
export function fractionOf(axis: Axis, v: number): number {
  if (axis.log) return (Math.log10(v) - Math.log10(axis.lo)) / (Math.log10(axis.hi) - Math.log10(axis.lo));
  return (v - axis.lo) / (axis.hi - axis.lo);
}

/** Tick text: up to 4 significant digits, exponent form for very small or large values. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) {
    const [m, e] = v.toExponential(2).split('e') as [string, string];
    return `${String(Number(m))}e${Number(e)}`;
  }
  return String(Number(v.toPrecision(4)));
}

/** Removes binary noise such as 0.30000000000000004. */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}
