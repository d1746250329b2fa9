// Host tensors the CPU runtime takes and returns. Float dtypes come back in the working precision
// (Float32Array for 'f32' runs, Float64Array for 'f64' gradient checks); i32 as Int32Array and
// bool as Uint8Array (0/1).

import type { DType } from '../../compiler/ir/graph.ts';

export type FloatArray = Float32Array | Float64Array;
export type TensorData = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Builds a tensor from plain numbers (row-major). */
export function tensor(values: ArrayLike<number>, shape: readonly number[], dtype: DType = 'f32'): Tensor {
  if (values.length !== sizeOf(shape)) throw new RangeError(`tensor: ${values.length} values do not fill shape [${shape.join(',')}]`);
  const data = dtype === 'i32' ? Int32Array.from(values) : dtype === 'bool' ? Uint8Array.from(values, (v) => (v ? 1 : 0)) : Float64Array.from(values);
  return { dtype, shape: [...shape], data };
}
