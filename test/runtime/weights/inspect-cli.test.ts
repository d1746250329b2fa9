// `scion inspect` through the real dispatcher, with a captured Io.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import type { Io } from '../../../cli/io.ts';
import { writeSafetensors } from '../../../runtime/weights/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scion-inspect-'));
  await writeSafetensors(
    join(dir, 'm.safetensors'),
    {
      'embed.weight': { dtype: 'F32', shape: [10, 4], data: new Float32Array(40) },
      'head.bias': { dtype: 'BF16', shape: [10], data: new Float32Array(10) },
      step: { dtype: 'I64', shape: [], data: new BigInt64Array(1) },
    },
    { format: 'pt' },
  );
  await writeFile(join(dir, 'bad.safetensors'), new Uint8Array(4));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function scion(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), isTty: false, cwd: dir };
  const code = await main(args, io);
  return { code, out, err };
}

describe('scion inspect', () => {
  it('--json lists tensors in file order with bytes, metadata and totals', async () => {
    const { code, out } = await scion(['inspect', 'm.safetensors', '--json']);
    expect(code).toBe(0);
    // 40 f32 = 160 B, 10 bf16 = 20 B, one i64 scalar = 8 B; 51 parameters in all.
    expect(JSON.parse(out)).toEqual({
      tensors: [
        { name: 'embed.weight', dtype: 'F32', shape: [10, 4], bytes: 160 },
        { name: 'head.bias', dtype: 'BF16', shape: [10], bytes: 20 },
        { name: 'step', dtype: 'I64', shape: [], bytes: 8 },
      ],
      metadata: { format: 'pt' },
      totalBytes: 188,
      params: 51,
    });
  });

  it('prints a table with the metadata and totals', async () => {
    const { code, out } = await scion(['inspect', join(dir, 'm.safetensors')]);
    expect(code).toBe(0);
    expect(out).toBe(
      [
        'name          dtype  shape     size',
        '------------  -----  -------  -----',
        'embed.weight  F32    [10, 4]  160 B',
        'head.bias     BF16   [10]      20 B',
        'step          I64    []         8 B',
        '',
        'metadata:',
        '  format: pt',
        '',
        '3 tensors, 51 parameters, 188 B (188 bytes)',
        '',
      ].join('\n'),
    );
  });

  it('exits 1 with the clear message on a bad file, 2 on a bad command line', async () => {
    const bad = await scion(['inspect', 'bad.safetensors']);
    expect(bad).toEqual({ code: 1, out: '', err: `scion inspect: ${join(dir, 'bad.safetensors')}: file is 4 bytes, shorter than the 8-byte header length\n` });
    const badJson = await scion(['inspect', 'bad.safetensors', '--json']);
    expect(badJson.code).toBe(1);
    expect(JSON.parse(badJson.out)).toEqual({
      error: { code: 'too-short', message: `${join(dir, 'bad.safetensors')}: file is 4 bytes, shorter than the 8-byte header length` },
    });
    expect((await scion(['inspect'])).code).toBe(2);
    expect((await scion(['inspect', 'a', '--frob'])).code).toBe(2);
  });
});
