// Recycled working buffers. A training step allocates the same intermediate sizes every step;
// handing a released buffer to the next kernel that asks for that size (zeroed, as a fresh typed
// array would be: reductions and scatter kernels accumulate into it) keeps the garbage collector
// out of the step. One pool lives on each cached plan (plan.ts), so it is freed with its graph.
//
// Buffers are counted by identity because kernels may return an operand unchanged (reshape,
// stop_gradient, a permute view): a buffer returns to the pool only when no value holds it.

import type { FloatArray } from './tensor.ts';

export class BufferPool {
  private readonly free = new Map<number, FloatArray[]>();
  private readonly refs = new Map<FloatArray, number>();

  constructor(private readonly make: (n: number) => FloatArray) {}

  /** A zeroed buffer of n elements. */
  alloc(n: number): FloatArray {
    const buf = this.free.get(n)?.pop();
    return buf ? buf.fill(0) : this.make(n);
  }

  /** A value now holds `buf`. */
  hold(buf: FloatArray): void {
    this.refs.set(buf, (this.refs.get(buf) ?? 0) + 1);
  }

  /** A value no longer holds `buf`; the last holder returns it to the pool. */
  release(buf: FloatArray): void {
    const n = (this.refs.get(buf) ?? 0) - 1;
    if (n > 0) {
      this.refs.set(buf, n);
      return;
    }
    this.refs.delete(buf);
    const list = this.free.get(buf.length);
    if (list) list.push(buf);
    else this.free.set(buf.length, [buf]);
  }

  /** Forgets holders (after a run: what is still held escaped as an output, or the run threw). */
  endRun(): void {
    this.refs.clear();
  }
}
