// Deterministic batching. Each epoch visits every example (or LM window) once in an order drawn
// from the seeded PRNG; the last incomplete batch of an epoch is dropped so every batch has the
// static shape the compiled graph expects. The state (epoch, cursor, and the PRNG state the epoch's
// order was drawn from) is plain numbers, so a checkpoint can resume mid-epoch on the same batch.

import { Prng, type PrngState } from './prng.ts';

export interface BatcherState {
  epoch: number;
  /** Batches already taken in this epoch. */
  cursor: number;
  /** The PRNG state before this epoch's order was drawn. */
  epochPrng: PrngState;
}

/** Epoch-wise shuffled order over n items, cut into batches of `batch`. */
class EpochOrder {
  private prng: Prng;
  private epochPrng: PrngState;
  private order!: Int32Array;
  epoch = 0;
  cursor = 0;

  constructor(
    readonly n: number,
    readonly batch: number,
    seed: number,
    private readonly shuffle: boolean,
  ) {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    if (n < batch) throw new RangeError(`only ${n} examples, fewer than one batch of ${batch}`);
    this.prng = new Prng(seed);
    this.epochPrng = this.prng.getState();
    this.draw();
  }

  get batchesPerEpoch(): number {
    return Math.floor(this.n / this.batch);
  }

  private draw(): void {
    this.epochPrng = this.prng.getState();
    this.order = this.shuffle ? this.prng.permutation(this.n) : Int32Array.from({ length: this.n }, (_, i) => i);
  }

  /** The item indices of the next batch. */
  next(): Int32Array {
    if (this.cursor >= this.batchesPerEpoch) {
      this.epoch++;
      this.cursor = 0;
      this.draw();
    }
    const start = this.cursor++ * this.batch;
    return this.order.subarray(start, start + this.batch);
  }

  getState(): BatcherState {
    return { epoch: this.epoch, cursor: this.cursor, epochPrng: this.epochPrng };
  }

  setState(state: BatcherState): void {
    this.prng = Prng.fromState(state.epochPrng);
    this.draw();
    this.epoch = state.epoch;
    this.cursor = state.cursor;
  }
}

export interface BatcherOptions {
  batch: number;
  seed: number;
  /** Default true; false keeps the natural order (evaluation). */
  shuffle?: boolean;
}

/**
 * Language-model batches: the token stream is cut into non-overlapping windows of seq + 1 tokens
 * (window w = tokens[w·seq, w·seq + seq + 1), so neighbours share one boundary token and every
 * token is a target once); a batch is [batch, seq + 1], inputs = [:, :seq], targets = [:, 1:].
 */
export class LmBatcher {
  private readonly order: EpochOrder;

  constructor(
    private readonly tokens: Int32Array,
    readonly seq: number,
    options: BatcherOptions,
  ) {
    if (!Number.isInteger(seq) || seq < 1) throw new RangeError(`seq must be a positive integer, got ${seq}`);
    this.order = new EpochOrder(Math.max(0, Math.floor((tokens.length - 1) / seq)), options.batch, options.seed, options.shuffle ?? true);
  }

  get windows(): number {
    return this.order.n;
  }

  get batchesPerEpoch(): number {
    return this.order.batchesPerEpoch;
  }

  /** [batch, seq + 1] row-major. */
  next(): Int32Array {
    const width = this.seq + 1;
    const windows = this.order.next();
    const out = new Int32Array(windows.length * width);
    windows.forEach((w, row) => out.set(this.tokens.subarray(w * this.seq, w * this.seq + width), row * width));
    return out;
  }

  getState(): BatcherState {
    return this.order.getState();
  }

  setState(state: BatcherState): void {
    this.order.setState(state);
  }
}

/** Batches of (features, label) examples: x [batch, ...shape] and y [batch]. */
export class ExampleBatcher {
  private readonly order: EpochOrder;
  readonly size: number;

  /** `features` holds `count` examples of `size` values each, row-major. */
  constructor(
    private readonly features: Float32Array,
    private readonly labels: Int32Array,
    options: BatcherOptions,
  ) {
    if (labels.length === 0 || features.length % labels.length !== 0) {
      throw new RangeError(`${features.length} feature values do not divide into ${labels.length} examples`);
    }
    this.size = features.length / labels.length;
    this.order = new EpochOrder(labels.length, options.batch, options.seed, options.shuffle ?? true);
  }

  get batchesPerEpoch(): number {
    return this.order.batchesPerEpoch;
  }

  /** The example indices are returned too, e.g. for loss-weighted resampling of batches. */
  next(): { x: Float32Array; y: Int32Array; indices: Int32Array } {
    const indices = this.order.next().slice();
    const x = new Float32Array(indices.length * this.size);
    const y = new Int32Array(indices.length);
    indices.forEach((e, row) => {
      x.set(this.features.subarray(e * this.size, (e + 1) * this.size), row * this.size);
      y[row] = this.labels[e]!;
    });
    return { x, y, indices };
  }

  getState(): BatcherState {
    return this.order.getState();
  }

  setState(state: BatcherState): void {
    this.order.setState(state);
  }
}
