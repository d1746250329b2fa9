// What every backend is to the jobs: a place where a graph runs. A backend is one folder under
// backends/ behind this interface and one line in registry.ts; jobs and commands never name its
// internals. The reference (reference/) is the executable definition every other backend is held to.
//
// State: a backend holds, per graph, the values last written for its inputs and parameters, and
// the outputs of its last run. `run` writes its feeds first, so a job that feeds everything every
// step (the host-side training loop today) needs only `run`; a job that keeps parameters on the
// device writes them once and reads them back when it checkpoints.

import type { Graph } from '../compiler/ir/graph.ts';
import type { Tensor } from '../runtime/cpu/tensor.ts';

export interface Backend {
  /** The registry name (`--device NAME`). */
  readonly name: string;
  /**
   * Prepares `graph` to run here (WebGPU: passes, WGSL, pipelines). `run` does it on first use
   * anyway; calling it early makes a graph this backend cannot run fail before any work is done.
   */
  compile(graph: Graph): Promise<void>;
  /** Sets inputs or parameters of `graph` by name, without running it. */
  write(graph: Graph, values: ReadonlyMap<string, Tensor>): Promise<void>;
  /**
   * Writes `feeds`, runs `graph` once and returns the requested outputs (default all). Every input
   * and parameter must have a value, fed now or written before.
   */
  run(graph: Graph, feeds: ReadonlyMap<string, Tensor>, outputs?: readonly string[]): Promise<Map<string, Tensor>>;
  /** Reads values of `graph` back: outputs of its last run, or inputs and parameters it holds. */
  read(graph: Graph, names: readonly string[]): Promise<Map<string, Tensor>>;
  /** Releases what the backend holds (device, buffers); idempotent. */
  dispose(): void;
  /**
   * Present where the backend can keep a graph's carried state between runs (WebGPU, and ONNX
   * Runtime on the CPU): compiles `graph` so that after every run each `carry` output replaces its
   * input where it lies. A training job then runs its whole step (buildTrainStep) with parameters,
   * optimizer state and EMA never leaving the device (WebGPU's buffers; on the CPU, arrays the
   * backend owns that ONNX Runtime writes into in place).
   */
  readonly resident?: (graph: Graph, carry: readonly Carry[]) => Promise<ResidentGraph>;
  /** Bytes moved between host and device so far, counted where they cross; absent where the host is the device. */
  transferredBytes?(): number;
}

/** After each run, output `output` replaces input `input`. */
export interface Carry {
  output: string;
  input: string;
}

/** A graph compiled by Backend.resident: its inputs stay on the device across runs. */
export interface ResidentGraph {
  /** Sets inputs or parameters (initial state, frozen weights) without running. */
  write(values: ReadonlyMap<string, Tensor>): void;
  /**
   * Writes `feeds` (a batch, a few scalars), queues one run, and returns a function that waits for
   * that run and gives its `watch` outputs (f32 scalars, in order): the caller reads a few steps
   * behind, so the queue never drains between steps.
   */
  enqueue(feeds: ReadonlyMap<string, Tensor>, watch: readonly string[]): Promise<() => Promise<Float32Array>>;
  /** Reads inputs or outputs back (carried state, after every queued run); a checkpoint's only readback. */
  read(names: readonly string[]): Promise<Map<string, Tensor>>;
  /** Bytes this graph moved between host and device so far; absent where the host is the device (the CPU). */
  transferredBytes?(): number;
  /**
   * How many runs to queue ahead of the one whose outputs are read: a real GPU works while the host
   * queues the next steps; where the device is the CPU (a software adapter), runs queued ahead only
   * compete with the host for the same cores, so it reads each run at once.
   */
  readonly queueAhead: number;
  dispose(): void;
}

/** How the registry opens a backend for a graph; the reason says in words why it cannot. */
export interface BackendEntry {
  /** For people: "the CPU reference backend", "WebGPU". */
  readonly title: string;
  /**
   * Opens the backend and checks that `graph` runs on it. `chosen` is true when the user named
   * this backend (`--device NAME`), false when `--device auto` is trying it: an entry may decline
   * then (WebGPU declines a software adapter, which is no faster than the CPU).
   */
  open(graph: Graph, chosen: boolean): Promise<Backend | { reason: string }>;
}

/** Thrown when the chosen device cannot run the job; the message says why. */
export class DeviceUnavailable extends Error {}
