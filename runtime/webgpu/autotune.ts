// A small autotuner: times each candidate kernel once per adapter and remembers the fastest in a
// store keyed by adapter description and an op key (e.g. "matmul/f32/v4/none"). The store is an
// interface so a browser can keep choices in memory or localStorage; tune-store-file.ts keeps
// them in a JSON file for Node.

export interface TuneChoice {
  /** Name of the winning candidate. */
  choice: string;
  /** Median ms per run of every candidate timed, for the record. */
  timesMs: Record<string, number>;
  /** What was timed, e.g. "512x512x512". */
  workload: string;
  at: string;
}

export interface TuneStore {
  get(adapterKey: string, opKey: string): TuneChoice | undefined;
  set(adapterKey: string, opKey: string, choice: TuneChoice): void;
}

/** Keeps choices for this process only. */
export class MemoryTuneStore implements TuneStore {
  private readonly choices = new Map<string, TuneChoice>();
  get(adapterKey: string, opKey: string): TuneChoice | undefined {
    return this.choices.get(`${adapterKey}\u0000${opKey}`);
  }
  set(adapterKey: string, opKey: string, choice: TuneChoice): void {
    this.choices.set(`${adapterKey}\u0000${opKey}`, choice);
  }
}

/** Runs a candidate once (GPU work awaited) and resolves when done. Compile before the first call. */
export type TimedRun = () => Promise<void>;

export interface TuneRequest {
  adapterKey: string;
  opKey: string;
  workload: string;
  /** Candidates by name; each is warmed up once, then timed `reps` times. */
  candidates: Record<string, TimedRun>;
  reps?: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median wall time of `reps` runs after one warm-up run, in ms. */
export async function timeRuns(run: TimedRun, reps: number): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return median(times);
}

/**
 * Whether a remembered choice still answers for `candidates`: it was timed against exactly these
 * names. A new candidate (a faster kernel added in a release) must get its chance, so a choice
 * made among a different set is timed again rather than kept forever.
 */
export function isCurrentChoice(known: TuneChoice | undefined, candidates: readonly string[]): known is TuneChoice {
  if (known === undefined || !candidates.includes(known.choice)) return false;
  const timed = Object.keys(known.timesMs);
  return timed.length === candidates.length && candidates.every((name) => Object.hasOwn(known.timesMs, name));
}

/**
 * The remembered choice for (adapter, op), or — the first time, or when the candidates changed —
 * the fastest candidate, which is then stored. `fresh` reports whether timing happened in this call.
 */
export async function autotune(store: TuneStore, request: TuneRequest): Promise<TuneChoice & { fresh: boolean }> {
  const known = store.get(request.adapterKey, request.opKey);
  if (isCurrentChoice(known, Object.keys(request.candidates))) return { ...known, fresh: false };
  const timesMs: Record<string, number> = {};
  for (const [name, run] of Object.entries(request.candidates)) timesMs[name] = await timeRuns(run, request.reps ?? 3);
  const ranked = Object.entries(timesMs).sort((x, y) => x[1] - y[1]);
  const best = ranked[0];
  if (best === undefined) throw new Error(`autotune ${request.opKey}: no candidates`);
  const choice: TuneChoice = { choice: best[0], timesMs, workload: request.workload, at: new Date().toISOString() };
  store.set(request.adapterKey, request.opKey, choice);
  return { ...choice, fresh: true };
}
