// Public surface of runtime/weights: lazy safetensors reading (single or sharded) and atomic writing.

export { openSafetensors, writeShardedSafetensors } from './sharded.ts';
export { SafetensorsFile, bytesFor, elementCount, type SafetensorsReader, type TensorSummary } from './safetensors-reader.ts';
export { removeStaleTemps, writeSafetensors, type TensorToWrite, type TensorsToWrite } from './safetensors-writer.ts';
export { SafetensorsError, MAX_HEADER_BYTES, type SafetensorsErrorCode } from './header.ts';
export { DTYPES, isDtype, type Dtype, type TensorArray } from './dtypes.ts';
