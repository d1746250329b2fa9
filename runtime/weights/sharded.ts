// Sharded checkpoints: `model.safetensors.index.json` maps each tensor name to the shard file that
// holds it. The index and every shard header are validated on open, and the two must agree exactly
// (every listed tensor in its shard, every shard tensor listed), so a mismatch is reported before
// any weight is read.

import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { DTYPES, type TensorArray } from './dtypes.ts';
import { SafetensorsError } from './header.ts';
import { elementCount, SafetensorsFile, type SafetensorsReader, type TensorSummary } from './safetensors-reader.ts';
import { isJsonObject, parseStrictJson, StrictJsonError, type JsonValue } from './strict-json.ts';
import { atomicWrite, sortedEntries, writeAll, writeSafetensors, type TensorsToWrite, type TensorToWrite } from './safetensors-writer.ts';

const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/**
 * Opens a checkpoint lazily: a `.safetensors` file, or a sharded checkpoint's `*.index.json`.
 *
 * @example
 * const ckpt = await openSafetensors('runs/parent/model.safetensors');
 * const w = await ckpt.read('lm_head.weight'); // Float32Array
 * await ckpt.close();
 */
export async function openSafetensors(path: string): Promise<SafetensorsReader> {
  return path.endsWith('.json') ? ShardedCheckpoint.open(path) : SafetensorsFile.open(path);
}

class ShardedCheckpoint implements SafetensorsReader {
  private constructor(
    readonly path: string,
    readonly tensors: Map<string, TensorSummary>,
    readonly metadata: Record<string, string>,
    private readonly owner: Map<string, SafetensorsFile>,
    private readonly shards: SafetensorsFile[],
  ) {}

  static async open(path: string): Promise<ShardedCheckpoint> {
    const { weightMap, metadata } = await readIndex(path);
    const shardNames = [...new Set(weightMap.values())].sort();
    const shards: SafetensorsFile[] = [];
    try {
      for (const shardName of shardNames) {
        const shardPath = join(dirname(path), shardName);
        const exists = await stat(shardPath).then(
          (s) => s.isFile(),
          () => false,
        );
        if (!exists) {
          const first = [...weightMap].find(([, s]) => s === shardName)![0];
          throw new SafetensorsError('shard-missing', path, `weight_map names shard '${shardName}', which does not exist`, first);
        }
        shards.push(await SafetensorsFile.open(shardPath));
      }
      const byName = new Map(shardNames.map((n, i) => [n, shards[i]!]));
      const owner = new Map<string, SafetensorsFile>();
      for (const [tensor, shardName] of weightMap) {
        const shard = byName.get(shardName)!;
        if (!shard.tensors.has(tensor)) {
          throw new SafetensorsError('shard-tensor-missing', path, `weight_map puts it in '${shardName}', which does not hold it`, tensor);
        }
        owner.set(tensor, shard);
      }
      const tensors = new Map<string, TensorSummary>();
      for (const [i, shard] of shards.entries()) {
        for (const [tensor, summary] of shard.tensors) {
          if (weightMap.get(tensor) !== shardNames[i]) {
            throw new SafetensorsError(
              'shard-tensor-unlisted',
              path,
              `shard '${shardNames[i]}' holds it but weight_map ${weightMap.has(tensor) ? `puts it in '${weightMap.get(tensor)}'` : 'does not list it'}`,
              tensor,
            );
          }
          tensors.set(tensor, summary);
        }
      }
      const merged = { ...(shards[0]?.metadata ?? {}), ...metadata };
      return new ShardedCheckpoint(path, tensors, merged, owner, shards);
    } catch (error) {
      await Promise.all(shards.map((s) => s.close()));
      throw error;
    }
  }

  private shardOf(name: string): SafetensorsFile {
    const shard = this.owner.get(name);
    if (shard === undefined) throw new SafetensorsError('unknown-tensor', this.path, 'no such tensor in this checkpoint', name);
    return shard;
  }

  read(name: string): Promise<TensorArray> {
    return this.shardOf(name).read(name);
  }

  readRows(name: string, start: number, end: number): Promise<TensorArray> {
    return this.shardOf(name).readRows(name, start, end);
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}

async function readIndex(path: string): Promise<{ weightMap: Map<string, string>; metadata: Record<string, string> }> {
  const invalid = (detail: string, tensor?: string) => new SafetensorsError('index-invalid', path, detail, tensor);
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new SafetensorsError('not-a-file', path, `is ${s.isDirectory() ? 'a directory' : 'not a regular file'}, not a checkpoint index`);
    size = s.size;
  } catch (error) {
    if (error instanceof SafetensorsError) throw error;
    throw new SafetensorsError('io', path, `cannot open: ${(error as Error).message}`);
  }
  if (size > MAX_INDEX_BYTES) throw invalid(`index is ${size} bytes, over the ${MAX_INDEX_BYTES}-byte limit`);
  let root: JsonValue;
  try {
    root = parseStrictJson(new TextDecoder('utf-8', { fatal: true }).decode(await readFile(path)), 8);
  } catch (error) {
    if (error instanceof StrictJsonError) throw invalid(`index is not valid JSON: ${error.message}`);
    if (error instanceof TypeError) throw invalid('index is not valid UTF-8');
    throw error;
  }
  if (!isJsonObject(root)) throw invalid('index must be a JSON object');
  const map = root.entries.get('weight_map');
  if (!isJsonObject(map)) throw invalid("index has no 'weight_map' object");
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of map.entries) {
    if (typeof shard !== 'string') throw invalid('weight_map value must be a shard file name', tensor);
    const normal = normalize(shard);
    if (shard === '' || isAbsolute(shard) || normal.startsWith('..') || normal.split(sep).includes('..')) {
      throw new SafetensorsError('shard-path', path, `shard '${shard}' must be a file name inside the index's folder`, tensor);
    }
    weightMap.set(tensor, shard);
  }
  const metadata: Record<string, string> = {};
  const meta = root.entries.get('metadata');
  if (isJsonObject(meta)) {
    for (const [k, v] of meta.entries) {
      if (typeof v === 'string') metadata[k] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') metadata[k] = String(v);
    }
  }
  return { weightMap, metadata };
}

/**
 * Writes tensors as shards of at most `maxShardBytes` data bytes each (a single tensor larger than
 * that gets a shard of its own) plus `<prefix>.safetensors.index.json`, in Hugging Face's naming:
 * `<prefix>-00001-of-00003.safetensors`. Returns the index path.
 */
export async function writeShardedSafetensors(
  dir: string,
  tensors: TensorsToWrite,
  options: { maxShardBytes: number; metadata?: Record<string, string>; prefix?: string },
): Promise<string> {
  const prefix = options.prefix ?? 'model';
  const entries = sortedEntries(tensors);
  const groups: [string, TensorToWrite][][] = [[]];
  let current = 0;
  let total = 0;
  for (const entry of entries) {
    const bytes = elementCount(entry[1].shape) * DTYPES[entry[1].dtype].size;
    if (current > 0 && current + bytes > options.maxShardBytes) {
      groups.push([]);
      current = 0;
    }
    groups[groups.length - 1]!.push(entry);
    current += bytes;
    total += bytes;
  }
  const count = String(groups.length).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  for (const [i, group] of groups.entries()) {
    const file = `${prefix}-${String(i + 1).padStart(5, '0')}-of-${count}.safetensors`;
    await writeSafetensors(join(dir, file), new Map(group), options.metadata ?? {});
    for (const [name] of group) weightMap[name] = file;
  }
  const indexPath = join(dir, `${prefix}.safetensors.index.json`);
  const index = { metadata: { total_size: total }, weight_map: weightMap };
  await atomicWrite(indexPath, (h) => writeAll(h, new TextEncoder().encode(`${JSON.stringify(index, null, 2)}\n`)));
  return indexPath;
}
