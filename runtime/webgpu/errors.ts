// WebGPU failures as errors with a clear message. Validation errors on objects we generate are
// bugs and throw; a lost device is an environment failure and says so.

/// <reference types="@webgpu/types" />

/** The device went away (driver reset, out of memory, crash) — not a Scion bug. */
export class DeviceLostError extends Error {
  constructor(
    readonly reason: string,
    readonly detail: string,
  ) {
    super(`WebGPU device lost (${reason})${detail === '' ? '' : `: ${detail}`}; results since then are invalid — restart the run`);
    this.name = 'DeviceLostError';
  }
}

/** A validation / out-of-memory / internal error reported by an error scope. */
export class GpuError extends Error {
  constructor(
    readonly label: string,
    readonly filter: GPUErrorFilter | 'uncaptured',
    detail: string,
  ) {
    super(`${label}: WebGPU ${filter} error: ${detail}`);
    this.name = 'GpuError';
  }
}

const FILTERS: readonly GPUErrorFilter[] = ['internal', 'out-of-memory', 'validation'];

/**
 * Runs `create` inside validation, out-of-memory and internal error scopes and throws a GpuError
 * naming `label` if any fired. `create` may be async (createComputePipelineAsync).
 */
export async function withErrorScopes<T>(device: GPUDevice, label: string, create: () => T | Promise<T>): Promise<T> {
  for (const filter of FILTERS) device.pushErrorScope(filter);
  let result: T | undefined;
  let thrown: unknown = null;
  try {
    result = await create();
  } catch (error) {
    thrown = error;
  }
  // Scopes pop innermost first: validation, out-of-memory, internal. Pop all before throwing.
  const errors: GpuError[] = [];
  for (const filter of [...FILTERS].reverse()) {
    const error = await device.popErrorScope();
    if (error !== null) errors.push(new GpuError(label, filter, error.message));
  }
  if (thrown !== null) throw thrown;
  const first = errors[0];
  if (first !== undefined) throw first;
  return result as T;
}
