// Lazy safetensors reading: the header is read and validated on open; each tensor is read by
// offset through the file handle when asked for, so a checkpoint is never whole in memory.

import { open, type FileHandle } from 'node:fs/promises';
import { decodeTensor, DTYPES, type Dtype, type TensorArray } from './dtypes.ts';
import { checkHeaderLength, parseHeader, SafetensorsError, type TensorInfo } from './header.ts';

/** What a caller may know about a tensor without reading it. */
export interface TensorSummary {
  dtype: Dtype;
  shape: number[];
  byteLength: number;
}

/** An open checkpoint (one file or a sharded index); close it when done. */
export interface SafetensorsReader {
  /** The path that was opened. */
  readonly path: string;
  /** Tensors in file order (for a sharded checkpoint: shard by shard). */
  readonly tensors: Map<string, TensorSummary>;
  readonly metadata: Record<string, string>;
  /** Reads one tensor; floating dtypes come back as Float32Array (F64 as Float64Array). */
  read(name: string): Promise<TensorArray>;
  /** Reads rows [start, end) along the first axis only (e.g. a slice of an embedding). */
  readRows(name: string, start: number, end: number): Promise<TensorArray>;
  close(): Promise<void>;
}

/** One safetensors file: the parsed header plus the handle the data is read through. */
export class SafetensorsFile implements SafetensorsReader {
  readonly tensors: Map<string, TensorSummary>;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly infos: Map<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {
    this.tensors = new Map([...infos].map(([name, { dtype, shape, byteLength }]) => [name, { dtype, shape, byteLength }]));
  }

  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new SafetensorsError('io', path, `cannot open: ${(error as Error).message}`);
    }
    try {
      const stats = await handle.stat();
      // Opening a directory succeeds on Linux; reading it would fail with a bare EISDIR.
      if (!stats.isFile())
        throw new SafetensorsError('not-a-file', path, `is ${stats.isDirectory() ? 'a directory' : 'not a regular file'}, not a safetensors file`);
      const { size } = stats;
      const prefix = new Uint8Array(8);
      await readExactly(handle, prefix.subarray(0, Math.min(8, size)), 0);
      const headerLength = checkHeaderLength(path, prefix, size);
      const headerBytes = new Uint8Array(headerLength);
      await readExactly(handle, headerBytes, 8);
      const dataStart = 8 + headerLength;
      const { tensors, metadata } = parseHeader(path, headerBytes, dataStart, size - dataStart);
      return new SafetensorsFile(path, handle, tensors, metadata);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  private info(name: string): TensorInfo {
    const info = this.infos.get(name);
    if (info === undefined) throw new SafetensorsError('unknown-tensor', this.path, 'no such tensor in this file', name);
    return info;
  }

  async read(name: string): Promise<TensorArray> {
    const info = this.info(name);
    const bytes = new Uint8Array(info.byteLength);
    await readExactly(this.handle, bytes, info.fileOffset);
    return decodeTensor(info.dtype, bytes);
  }

  async readRows(name: string, start: number, end: number): Promise<TensorArray> {
    const info = this.info(name);
    const rows = info.shape[0];
    if (rows === undefined || !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > rows) {
      // A caller's bug, not the file's: the caller knows the shape from `tensors`.
      throw new RangeError(`readRows(${name}, ${start}, ${end}): out of range for shape [${info.shape.join(', ')}]`);
    }
    const rowBytes = rows === 0 ? 0 : info.byteLength / rows;
    const bytes = new Uint8Array((end - start) * rowBytes);
    await readExactly(this.handle, bytes, info.fileOffset + start * rowBytes);
    return decodeTensor(info.dtype, bytes);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Reads exactly `into.byteLength` bytes at `position` (fs reads may return short counts). */
async function readExactly(handle: FileHandle, into: Uint8Array, position: number): Promise<void> {
  // Large tensors are read in 8 MiB slices: one fs read is capped at 2 GiB, and huge single reads
  // measured slower here than moderate ones (bench/inherit-memory.ts).
  const CHUNK = 8 * 1024 * 1024;
  let done = 0;
  while (done < into.byteLength) {
    const length = Math.min(CHUNK, into.byteLength - done);
    const { bytesRead } = await handle.read(into, done, length, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done} (file changed while open?)`);
    done += bytesRead;
  }
}

/** Elements of a shape; shared with the writer and inspect. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function bytesFor(dtype: Dtype, shape: readonly number[]): number {
  return elementCount(shape) * DTYPES[dtype].size;
}
