// Safetensors writing: deterministic (tensors sorted by name, metadata first, header padded with
// spaces to a multiple of 8 so the data area is 8-byte aligned), streaming (each tensor's data is
// produced only when its turn comes, then dropped) and atomic (temp file in the same folder,
// fsync, rename), so a crash never leaves a half-written checkpoint under the final name.

import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DTYPES, encodeTensor, type Dtype, type TensorArray } from './dtypes.ts';
import { elementCount } from './safetensors-reader.ts';

export interface TensorToWrite {
  dtype: Dtype;
  shape: readonly number[];
  /**
   * The values (Float32Array may be written as F16/BF16), or a function that produces them when
   * the writer reaches this tensor, so large checkpoints are streamed tensor by tensor.
   */
  data: TensorArray | (() => TensorArray | Promise<TensorArray>);
}

export type TensorsToWrite = ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>;

/**
 * Writes `tensors` to `path` as one safetensors file.
 *
 * @example
 * await writeSafetensors('out/model.safetensors',
 *   { 'lm_head.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) } }, { format: 'pt' });
 */
export async function writeSafetensors(path: string, tensors: TensorsToWrite, metadata: Record<string, string> = {}): Promise<{ bytes: number }> {
  const entries = sortedEntries(tensors);
  const header = encodeHeader(entries, metadata);
  let bytes = 8 + header.byteLength;
  await atomicWrite(path, async (handle) => {
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(header.byteLength), true);
    await writeAll(handle, prefix);
    await writeAll(handle, header);
    for (const [name, tensor] of entries) {
      const values = typeof tensor.data === 'function' ? await tensor.data() : tensor.data;
      const expected = elementCount(tensor.shape);
      if (values.length !== expected) {
        throw new Error(`writeSafetensors: tensor '${name}' has ${values.length} values, shape [${tensor.shape.join(', ')}] needs ${expected}`);
      }
      const encoded = encodeTensor(tensor.dtype, values);
      await writeAll(handle, encoded);
      bytes += encoded.byteLength;
    }
  });
  return { bytes };
}

export function sortedEntries(tensors: TensorsToWrite): [string, TensorToWrite][] {
  const entries: [string, TensorToWrite][] =
    tensors instanceof Map ? [...(tensors as ReadonlyMap<string, TensorToWrite>).entries()] : Object.entries(tensors as Record<string, TensorToWrite>);
  for (const [name, t] of entries) {
    if (name === '' || name === '__metadata__') throw new Error(`writeSafetensors: invalid tensor name '${name}'`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`writeSafetensors: tensor '${name}' has invalid shape [${t.shape.join(', ')}]`);
    }
  }
  // Code-unit order, not locale order: the same tensors always give the same bytes.
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The header JSON, padded with spaces so that 8 + its length is a multiple of 8. */
export function encodeHeader(entries: readonly [string, TensorToWrite][], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  const metaKeys = Object.keys(metadata).sort();
  if (metaKeys.length > 0) header.__metadata__ = Object.fromEntries(metaKeys.map((k) => [k, metadata[k]]));
  let offset = 0;
  for (const [name, t] of entries) {
    const length = elementCount(t.shape) * DTYPES[t.dtype].size;
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + length] };
    offset += length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.byteLength / 8) * 8).fill(0x20);
  padded.set(json);
  return padded;
}

/** The temp file atomicWrite writes `NAME` through: `.NAME.PID-RANDOM.tmp`, beside it. */
const TEMP_NAME = /^\.(.+)\.(\d+)-[0-9a-f]{8}\.tmp$/;

/** Whether `pid` is a live process on this machine (EPERM: alive, someone else's). */
export function isLiveProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files atomicWrite left in `dir` when its process was killed mid-write — those
 * of `only` (a file name) or of any file — and returns their names. A temp file names its
 * writer's pid, so one whose process still runs is left alone, with or without a lock (a run
 * folder's lock makes every other writer there a dead one anyway).
 *
 * @example await removeStaleTemps('runs/tiny') // ['.model.safetensors.4242-0badf00d.tmp']
 */
export async function removeStaleTemps(dir: string, only?: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const m = TEMP_NAME.exec(name);
    if (m === null || (only !== undefined && m[1] !== only) || isLiveProcess(Number(m[2]))) continue;
    if (
      await unlink(join(dir, name)).then(
        () => true,
        () => false,
      )
    )
      removed.push(name);
  }
  return removed;
}

/**
 * Runs `write` on a temp file beside `path`, fsyncs it and renames it over `path`. First it removes
 * the temp files an earlier write of `path` left when its process was killed, so every atomic
 * write cleans up after the one before it, whatever command made it.
 */
export async function atomicWrite(path: string, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  // A folder that cannot be listed is left to open() below to report.
  await removeStaleTemps(dirname(path), basename(path)).catch(() => undefined);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx');
  try {
    await write(handle);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  // Make the rename itself durable; some file systems refuse fsync on a directory, which is fine.
  try {
    const dir = await open(dirname(path), 'r');
    await dir.sync().catch(() => undefined);
    await dir.close();
  } catch {
    /* best effort */
  }
}

export async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, Math.min(bytes.byteLength - done, 1 << 30));
    done += bytesWritten;
  }
}
