// Every malformed file is refused with its own error code and a message that names the file and,
// where one is involved, the tensor. Files are built byte by byte here, never by our writer.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors, SafetensorsError } from '../../../runtime/weights/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scion-hostile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function file(header: string | Uint8Array, dataBytes: number, lengthField?: bigint): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}
const t = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
const h = (o: Record<string, unknown>) => JSON.stringify(o);

interface Case {
  name: string;
  bytes: Uint8Array;
  code: string;
  /** The message after "<path>: ". */
  message: string;
}

const CASES: Case[] = [
  { name: 'empty file', bytes: new Uint8Array(0), code: 'too-short', message: 'file is 0 bytes, shorter than the 8-byte header length' },
  { name: 'five bytes', bytes: new Uint8Array(5), code: 'too-short', message: 'file is 5 bytes, shorter than the 8-byte header length' },
  {
    name: 'huge header length',
    bytes: file('{}', 0, 2n ** 62n),
    code: 'header-too-large',
    message: `header length ${2n ** 62n} exceeds the 104857600-byte limit`,
  },
  { name: 'header past end', bytes: file('{}', 0, 1000n), code: 'header-past-end', message: 'header length 1000 runs past the end of the 10-byte file' },
  { name: 'zero header length', bytes: file('', 4), code: 'header-empty', message: 'header length 0 is too small to hold a JSON object' },
  { name: 'invalid UTF-8', bytes: file(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 0), code: 'header-not-utf8', message: 'header is not valid UTF-8' },
  { name: 'not JSON', bytes: file('{"a": }', 0), code: 'header-not-json', message: "header is not JSON: unexpected '}' at character 6" },
  {
    name: 'trailing garbage',
    bytes: file('{} {}', 0),
    code: 'header-not-json',
    message: 'header is not JSON: unexpected text after the JSON value at character 3',
  },
  { name: 'array header', bytes: file('[1,2]', 0), code: 'header-not-object', message: 'header must be a JSON object, found an array' },
  {
    name: 'deep nesting',
    bytes: file(`{"__metadata__":${'['.repeat(5000)}${']'.repeat(5000)}}`, 0),
    code: 'header-too-deep',
    message: 'header JSON nesting deeper than 8 levels at character 23',
  },
  {
    name: 'duplicate tensor name',
    bytes: file('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 2),
    code: 'duplicate-name',
    message: "tensor 'w': header names 'w' twice",
  },
  { name: 'empty name', bytes: file(h({ '': t('U8', [1], [0, 1]) }), 1), code: 'empty-name', message: 'a tensor has an empty name' },
  { name: 'entry not object', bytes: file(h({ w: [1, 2] }), 0), code: 'entry-not-object', message: "tensor 'w': entry must be an object, found an array" },
  {
    name: 'missing shape',
    bytes: file(h({ w: { dtype: 'U8', data_offsets: [0, 1] } }), 1),
    code: 'entry-missing-field',
    message: "tensor 'w': entry is missing 'shape'",
  },
  {
    name: 'unknown field',
    bytes: file(h({ w: { ...t('U8', [1], [0, 1]), stride: 1 } }), 1),
    code: 'entry-unknown-field',
    message: "tensor 'w': entry has unknown field 'stride'",
  },
  {
    name: 'dtype not string',
    bytes: file(h({ w: t(4 as unknown as string, [1], [0, 1]) }), 1),
    code: 'dtype-not-string',
    message: "tensor 'w': dtype must be a string, found number 4",
  },
  {
    name: 'unknown dtype',
    bytes: file(h({ w: t('F8_E4M3', [1], [0, 1]) }), 1),
    code: 'unknown-dtype',
    message: "tensor 'w': unknown dtype 'F8_E4M3' (known: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)",
  },
  {
    name: 'shape not array',
    bytes: file(h({ w: t('U8', 3, [0, 3]) }), 3),
    code: 'shape-not-array',
    message: "tensor 'w': shape must be an array, found number 3",
  },
  {
    name: 'negative dimension',
    bytes: file(h({ w: t('U8', [2, -1], [0, 0]) }), 0),
    code: 'bad-dimension',
    message: "tensor 'w': shape [2, -1] must hold non-negative integers",
  },
  {
    name: 'fractional dimension',
    bytes: file(h({ w: t('U8', [1.5], [0, 1]) }), 1),
    code: 'bad-dimension',
    message: "tensor 'w': shape [1.5] must hold non-negative integers",
  },
  {
    name: 'string dimension',
    bytes: file(h({ w: t('U8', ['2'], [0, 2]) }), 2),
    code: 'bad-dimension',
    message: 'tensor \'w\': shape ["2"] must hold non-negative integers',
  },
  {
    name: 'too many dimensions',
    bytes: file(h({ w: t('U8', new Array(17).fill(1), [0, 1]) }), 1),
    code: 'rank-too-large',
    message: "tensor 'w': shape has 17 dimensions, more than 16",
  },
  {
    name: 'element count overflow',
    bytes: file(h({ w: t('F32', [2 ** 30, 2 ** 30, 2 ** 30], [0, 4]) }), 4),
    code: 'shape-too-large',
    message: "tensor 'w': shape [1073741824, 1073741824, 1073741824] has too many elements",
  },
  {
    name: 'offsets not a pair',
    bytes: file(h({ w: t('U8', [1], [0]) }), 1),
    code: 'offsets-not-pair',
    message: "tensor 'w': data_offsets must be an array [begin, end], found an array",
  },
  {
    name: 'negative offset',
    bytes: file(h({ w: t('U8', [1], [-1, 0]) }), 1),
    code: 'bad-offset',
    message: "tensor 'w': data_offsets [-1, 0] must be non-negative integers",
  },
  {
    name: 'reversed offsets',
    bytes: file(h({ w: t('U8', [0], [4, 2]) }), 4),
    code: 'offsets-reversed',
    message: "tensor 'w': data_offsets [4, 2] end before they begin",
  },
  {
    name: 'size mismatch',
    bytes: file(h({ w: t('F32', [2, 3], [0, 20]) }), 20),
    code: 'size-mismatch',
    message: "tensor 'w': shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] span 20",
  },
  {
    name: 'out of bounds',
    bytes: file(h({ w: t('U8', [8], [0, 8]) }), 4),
    code: 'offsets-out-of-bounds',
    message: "tensor 'w': data_offsets [0, 8] run past the 4-byte data area",
  },
  {
    name: 'overlap',
    bytes: file(h({ a: t('U8', [4], [0, 4]), b: t('U8', [4], [2, 6]) }), 6),
    code: 'offsets-overlap',
    message: "tensor 'b': data_offsets [2, 6] overlap tensor 'a' [0, 4]",
  },
  {
    name: 'hole',
    bytes: file(h({ a: t('U8', [2], [0, 2]), b: t('U8', [2], [4, 6]) }), 6),
    code: 'data-hole',
    message: "tensor 'b': data_offsets start at 4, leaving bytes 2..4 of the data area unused",
  },
  {
    name: 'trailing data',
    bytes: file(h({ a: t('U8', [2], [0, 2]) }), 5),
    code: 'data-trailing',
    message: 'the data area has 5 bytes but the tensors cover only 2',
  },
  {
    name: 'metadata not object',
    bytes: file(h({ __metadata__: 'x' }), 0),
    code: 'metadata-not-object',
    message: '__metadata__ must be an object of strings, found string "x"',
  },
  {
    name: 'metadata value not string',
    bytes: file(h({ __metadata__: { epoch: 3 } }), 0),
    code: 'metadata-not-string',
    message: "__metadata__ 'epoch' must be a string, found number 3",
  },
];

describe('hostile safetensors headers', () => {
  it('has at least 20 distinct malformed files with distinct messages', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
    expect(new Set(CASES.map((c) => c.message)).size).toBe(CASES.length);
  });

  it.each(CASES)('refuses $name', async ({ name, bytes, code, message }) => {
    const path = join(dir, `${name.replaceAll(' ', '-')}.safetensors`);
    await writeFile(path, bytes);
    const error = await openSafetensors(path).then(
      (f) => {
        void f.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SafetensorsError);
    expect((error as SafetensorsError).code).toBe(code);
    expect((error as SafetensorsError).message).toBe(`${path}: ${message}`);
  });

  it('accepts an empty checkpoint and spaces after the JSON (the padding)', async () => {
    const path = join(dir, 'empty.safetensors');
    await writeFile(path, file('{}      ', 0));
    const f = await openSafetensors(path);
    expect(f.tensors.size).toBe(0);
    await f.close();
  });

  it('a missing file is a clear error, not a crash', async () => {
    const path = join(dir, 'absent.safetensors');
    await expect(openSafetensors(path)).rejects.toThrow(`${path}: cannot open: ENOENT`);
  });
});
