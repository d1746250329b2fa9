// Which examples each training batch holds, with multiple-round training (PanGu-π Pro §1.5).
//
// Round 1 draws batches epoch by epoch from a seeded shuffle of every example. The training set's
// batches for scoring are a fixed partition of the examples (one seeded permutation cut into
// floor(n / batch) batches). At the start of each later round the frozen current model scores
// every one of those batches (`score`), `sampleBatches` draws round(sample·N) of them by
// softmax(loss / τ) without replacement, and the round trains on the drawn batches only — passes
// over them in a fresh shuffled order each — continuing from the current weights. The steps are
// split evenly over the rounds (the first rounds take the remainder).
//
// Everything that decides the next batch (round, drawn batches, epoch order, cursor) is the
// checkpointed state, so a run resumed mid-round continues on the same batch without rescoring.

import { Prng, type PrngState } from '../../runtime/data/index.ts';
import { sampleBatches, type Stateful } from '../../runtime/train/index.ts';

export interface RoundsSpec {
  count: number;
  /** Fraction of the batches drawn for each later round. */
  sample: number;
  /** τ of softmax(loss / τ). */
  temperature: number;
}

export interface RoundBatchesOptions {
  /** Examples in the training set. */
  count: number;
  batch: number;
  seed: number;
  /** Micro-batches in the whole run (updates × accumulate). */
  total: number;
  rounds?: RoundsSpec;
  /** Mean loss of each batch (example indices) under the current weights; called at each round start. */
  score?: (batches: readonly Int32Array[], round: number) => Promise<number[]>;
  /** Told when a round starts (for the log). */
  onRound?: (round: number, chosen: number, of: number) => void;
}

interface State {
  round: number;
  /** Indices into the partition drawn for this round (empty in round 0: all examples). */
  chosen: number[];
  /** PRNG state before the current pass's order was drawn. */
  passPrng: PrngState;
  cursor: number;
  pass: number;
}

/** First micro-batch of each round: `total` split evenly, earlier rounds taking the remainder. */
export function roundStarts(total: number, count: number): number[] {
  const base = Math.floor(total / count);
  const extra = total % count;
  const starts: number[] = [];
  let at = 0;
  for (let r = 0; r < count; r++) {
    starts.push(at);
    at += base + (r < extra ? 1 : 0);
  }
  return starts;
}

export class RoundBatches implements Stateful {
  private state: State;
  private prng: Prng;
  private order: Int32Array;
  private readonly starts: number[];
  private partitionCache: Int32Array[] | undefined;

  constructor(private readonly o: RoundBatchesOptions) {
    if (o.count < o.batch) throw new RangeError(`only ${o.count} examples, fewer than one batch of ${o.batch}`);
    if (o.rounds !== undefined && o.score === undefined) throw new Error('RoundBatches: rounds need a score function');
    this.starts = roundStarts(o.total, o.rounds?.count ?? 1);
    this.prng = new Prng(o.seed);
    this.state = { round: 0, chosen: [], passPrng: this.prng.getState(), cursor: 0, pass: 0 };
    this.order = this.drawOrder();
  }

  /** The fixed partition of the examples that rounds score and resample. */
  partition(): Int32Array[] {
    if (this.partitionCache === undefined) {
      const perm = new Prng(this.o.seed ^ 0x5ca1ab1e).permutation(this.o.count);
      const n = Math.floor(this.o.count / this.o.batch);
      this.partitionCache = Array.from({ length: n }, (_, k) => perm.slice(k * this.o.batch, (k + 1) * this.o.batch));
    }
    return this.partitionCache;
  }

  get round(): number {
    return this.state.round;
  }

  /** Round 0 shuffles examples; later rounds shuffle the drawn batches. */
  private drawOrder(): Int32Array {
    this.state.passPrng = this.prng.getState();
    return this.prng.permutation(this.state.round === 0 ? this.o.count : this.state.chosen.length);
  }

  private get batchesPerPass(): number {
    return this.state.round === 0 ? Math.floor(this.o.count / this.o.batch) : this.state.chosen.length;
  }

  /** The example indices of micro-batch `batchIndex` (called in order). */
  async next(batchIndex: number): Promise<Int32Array> {
    const rounds = this.o.rounds;
    while (rounds !== undefined && this.state.round + 1 < rounds.count && batchIndex >= (this.starts[this.state.round + 1] as number)) {
      await this.startRound(this.state.round + 1, rounds);
    }
    if (this.state.cursor >= this.batchesPerPass) {
      this.state.pass++;
      this.state.cursor = 0;
      this.order = this.drawOrder();
    }
    const k = this.state.cursor++;
    if (this.state.round === 0) return this.order.slice(k * this.o.batch, (k + 1) * this.o.batch);
    const part = this.partition();
    return part[this.state.chosen[this.order[k] as number] as number]!.slice();
  }

  private async startRound(round: number, spec: RoundsSpec): Promise<void> {
    const part = this.partition();
    const losses = await this.o.score!(part, round);
    // One PRNG per round boundary, derived from the seed: the draw does not depend on how many
    // numbers the batches drew before.
    const chosen = sampleBatches(losses, { fraction: spec.sample, temperature: spec.temperature, rng: new Prng((this.o.seed * 7919 + round) >>> 0) });
    if (chosen.length === 0) throw new RangeError(`round ${round + 1} draws no batches: sample = ${spec.sample} of ${part.length} batches`);
    this.state = { round, chosen: Array.from(chosen), passPrng: this.prng.getState(), cursor: 0, pass: 0 };
    this.order = this.drawOrder();
    this.o.onRound?.(round, chosen.length, part.length);
  }

  getState(): unknown {
    return { ...this.state, chosen: [...this.state.chosen] };
  }

  setState(state: unknown): void {
    const s = state as State;
    this.state = { ...s, chosen: [...s.chosen] };
    this.prng = Prng.fromState(s.passPrng);
    this.order = this.drawOrder();
  }
}
