import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors, SafetensorsError, writeSafetensors, writeShardedSafetensors } from '../../../runtime/weights/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scion-shard-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const f32 = (n: number, start: number) => Float32Array.from({ length: n }, (_, i) => start + i);

describe('sharded checkpoints', () => {
  it('writes shards in HF naming with a weight_map and reads every tensor back through the index', async () => {
    const out = join(dir, 'ok');
    await mkdir(out);
    // 4 tensors of 16, 16, 24, 8 bytes with a 32-byte budget → shards {a, b}, {c, d}.
    const index = await writeShardedSafetensors(
      out,
      {
        a: { dtype: 'F32', shape: [4], data: f32(4, 0) },
        b: { dtype: 'F32', shape: [2, 2], data: f32(4, 10) },
        c: { dtype: 'F32', shape: [6], data: f32(6, 20) },
        d: { dtype: 'F32', shape: [2], data: f32(2, 30) },
      },
      { maxShardBytes: 32, metadata: { format: 'pt' } },
    );
    const json = JSON.parse(await readFile(index, 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
    expect(json.metadata.total_size).toBe(64);
    expect(json.weight_map).toEqual({
      a: 'model-00001-of-00002.safetensors',
      b: 'model-00001-of-00002.safetensors',
      c: 'model-00002-of-00002.safetensors',
      d: 'model-00002-of-00002.safetensors',
    });
    const ckpt = await openSafetensors(index);
    expect([...ckpt.tensors.keys()]).toEqual(['a', 'b', 'c', 'd']);
    expect(ckpt.metadata).toEqual({ format: 'pt', total_size: '64' });
    expect([...(await ckpt.read('c'))]).toEqual([20, 21, 22, 23, 24, 25]);
    expect([...(await ckpt.readRows('b', 1, 2))]).toEqual([12, 13]);
    await ckpt.close();
  });

  async function setup(name: string, weightMap: Record<string, unknown> | string): Promise<string> {
    const out = join(dir, name);
    await mkdir(out);
    await writeSafetensors(join(out, 's1.safetensors'), {
      x: { dtype: 'U8', shape: [1], data: new Uint8Array([1]) },
      y: { dtype: 'U8', shape: [1], data: new Uint8Array([2]) },
    });
    const path = join(out, 'model.safetensors.index.json');
    await writeFile(path, typeof weightMap === 'string' ? weightMap : JSON.stringify({ weight_map: weightMap }));
    return path;
  }

  const CASES: { name: string; index: Record<string, unknown> | string; code: string; message: string }[] = [
    { name: 'not-json', index: '{"weight_map": ', code: 'index-invalid', message: 'index is not valid JSON: unexpected end of text at character 15' },
    { name: 'no-map', index: '{"metadata": {}}', code: 'index-invalid', message: "index has no 'weight_map' object" },
    {
      name: 'dup',
      index: '{"weight_map": {"x": "s1.safetensors", "x": "s1.safetensors"}}',
      code: 'index-invalid',
      message: "index is not valid JSON: duplicate key 'x' at character 39",
    },
    { name: 'non-string', index: { x: 1, y: 's1.safetensors' }, code: 'index-invalid', message: "tensor 'x': weight_map value must be a shard file name" },
    {
      name: 'escape',
      index: { x: '../s1.safetensors', y: 's1.safetensors' },
      code: 'shard-path',
      message: "tensor 'x': shard '../s1.safetensors' must be a file name inside the index's folder",
    },
    {
      name: 'missing-shard',
      index: { x: 's1.safetensors', y: 's2.safetensors' },
      code: 'shard-missing',
      message: "tensor 'y': weight_map names shard 's2.safetensors', which does not exist",
    },
    {
      name: 'missing-tensor',
      index: { x: 's1.safetensors', y: 's1.safetensors', z: 's1.safetensors' },
      code: 'shard-tensor-missing',
      message: "tensor 'z': weight_map puts it in 's1.safetensors', which does not hold it",
    },
    {
      name: 'unlisted',
      index: { x: 's1.safetensors' },
      code: 'shard-tensor-unlisted',
      message: "tensor 'y': shard 's1.safetensors' holds it but weight_map does not list it",
    },
  ];

  it.each(CASES)('refuses an index: $name', async ({ name, index, code, message }) => {
    const path = await setup(name, index);
    const error = await openSafetensors(path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SafetensorsError);
    expect((error as SafetensorsError).code).toBe(code);
    expect((error as SafetensorsError).message).toBe(`${path}: ${message}`);
  });

  it("reports a bad shard header with the shard's own path", async () => {
    const out = join(dir, 'bad-shard');
    await mkdir(out);
    await writeFile(join(out, 's1.safetensors'), new Uint8Array(3));
    const path = join(out, 'model.safetensors.index.json');
    await writeFile(path, JSON.stringify({ weight_map: { x: 's1.safetensors' } }));
    await expect(openSafetensors(path)).rejects.toThrow(`${join(out, 's1.safetensors')}: file is 3 bytes, shorter than the 8-byte header length`);
  });
});
