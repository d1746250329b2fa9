// Yielding event polling for Dawn's Node binding.
//
// Why: while any WebGPU promise is pending (mapAsync, onSubmittedWorkDone, createXAsync), Dawn's
// binding (`AsyncRunner`) schedules `instance.ProcessEvents()` with the global `setImmediate`, and
// re-schedules it after each call until nothing is pending. It looks `setImmediate` up on the
// global object every time, with a fresh native callback. That is a busy loop: one core sits at
// 100% in process-events while the GPU works. On lavapipe the "GPU" is the CPU, so the loop steals
// one of this machine's two cores from the shader threads.
//
// What: replace the global `setImmediate` with a wrapper that, for Dawn's native callbacks only,
// passes through for a short spin (`spinMs`, so quick completions keep their latency) and then
// re-polls with `setTimeout(sleepMs)`. Other callers' callbacks (JavaScript functions) pass
// straight through untouched.
//
// Measured (lavapipe, 2 vCPU, a 512-workgroup FMA-loop kernel, median of 5, one run):
//   default polling  179 ms per dispatch, 10 812 process-events calls, 1.71 s CPU
//   yielding polling 118 ms per dispatch,    106 process-events calls, 1.11 s CPU
// i.e. 1.5× faster and a third less CPU; research/baselines.md saw 1.6–2× on matmul. The cost is
// up to ~1 ms more latency on work that outlasts the spin. `scion bench poll` re-measures it.

/** How Dawn's process-events callback is re-armed once the spin is over. */
export interface PollOptions {
  /** Pass Dawn's re-arms through to setImmediate for this long after a streak starts (ms). */
  spinMs: number;
  /** Then re-poll with setTimeout after this many ms (Node rounds 0 up to 1). */
  sleepMs: number;
}

export const DEFAULT_POLL: PollOptions = { spinMs: 0.3, sleepMs: 1 };

/** Counters since the wrapper was installed: how often Dawn polled, and how often we slept. */
export interface PollStats {
  polls: number;
  sleeps: number;
}

type Immediate = typeof globalThis.setImmediate;

interface Installed {
  original: Immediate;
  options: PollOptions;
  users: number;
  stats: PollStats;
  /** False: pass Dawn's re-arms straight through (its default busy polling), for comparisons. */
  enabled: boolean;
}

let installed: Installed | null = null;

/** Dawn hands setImmediate a native function; user code hands it JavaScript ones. */
function isNativeCallback(fn: unknown): fn is (...args: unknown[]) => void {
  return typeof fn === 'function' && Function.prototype.toString.call(fn).endsWith('{ [native code] }');
}

/**
 * Installs the yielding wrapper (reference-counted: each call needs its own uninstall) and
 * returns the function that uninstalls it. A second install while one is active keeps the first
 * one's options.
 *
 * @example
 *   const uninstall = installYieldingPoll();
 *   await device.queue.onSubmittedWorkDone(); // polled without pinning a core
 *   uninstall();
 */
export function installYieldingPoll(options: PollOptions = DEFAULT_POLL): () => void {
  if (installed === null) {
    const state: Installed = { original: globalThis.setImmediate, options, users: 0, stats: { polls: 0, sleeps: 0 }, enabled: true };
    let streakStart = 0;
    let last = -Infinity;
    // A gap longer than any sleep we schedule means Dawn went idle and this is a new streak.
    const idleGapMs = Math.max(5, 3 * options.sleepMs + 2);
    const wrapper = function (this: unknown, callback: unknown, ...args: unknown[]) {
      if (!state.enabled || !isNativeCallback(callback)) return Reflect.apply(state.original, this, [callback, ...args]);
      state.stats.polls++;
      const now = performance.now();
      if (now - last > idleGapMs) streakStart = now;
      last = now;
      if (now - streakStart < state.options.spinMs) return state.original(callback, ...args);
      state.stats.sleeps++;
      return setTimeout(callback, state.options.sleepMs, ...args);
    };
    // Node's setImmediate carries a promisified form; keep it reachable through the wrapper.
    Object.assign(wrapper, state.original);
    globalThis.setImmediate = wrapper as Immediate;
    installed = state;
  }
  const state = installed;
  state.users++;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    state.users--;
    if (state.users === 0 && installed === state) {
      globalThis.setImmediate = state.original;
      installed = null;
    }
  };
}

/** Counters of the installed wrapper, or null when polling is Dawn's default. */
export function pollStats(): PollStats | null {
  return installed === null ? null : { ...installed.stats };
}

/** Turns yielding off (Dawn's busy polling) or back on while installed; for A/B measurements. */
export function setPollingEnabled(enabled: boolean): void {
  if (installed !== null) installed.enabled = enabled;
}
