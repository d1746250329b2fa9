// `scion generate` streams (issue 19, item 4): plain text arrives in several writes as tokens are
// drawn — the prompt, then each token's text, then a newline — and joins to the text `--json`
// prints once at the end for the same seed. TextStream holds a token that ends inside a UTF-8
// character until the character is whole.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import type { Io } from '../../cli/io.ts';
import { TextStream } from '../../jobs/train/sample-text.ts';
import { BpeTokenizer } from '../../runtime/tokenizer/bpe.ts';
import { BYTE_TO_CHAR } from '../../runtime/tokenizer/byte-level.ts';
import { writeTokenizerJson } from '../../runtime/tokenizer/index.ts';
import { llamaSpec } from '../compiler/lower/helpers.ts';
import { captureIo } from './capture-io.ts';

/** One token per byte (ids 0..255) and `<|endoftext|>` at 256: every byte sequence is a text. */
const BYTES = new BpeTokenizer({
  vocab: new Map(BYTE_TO_CHAR.map((c, b) => [c, b])),
  merges: [],
  addedTokens: [{ id: 256, content: '<|endoftext|>', special: true }],
  addPrefixSpace: false,
  ignoreMerges: false,
});

/** A capturing Io that also keeps each write to stdout as its own chunk. */
function chunkIo(cwd: string): Io & { stdout: string; stderr: string; chunks: string[] } {
  const io = Object.assign(captureIo(cwd), { chunks: [] as string[] });
  const out = io.out;
  io.out = (t) => {
    io.chunks.push(t);
    out(t);
  };
  return io;
}

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scion-generate-'));
  writeFileSync(join(dir, 'lm.scion'), `${llamaSpec('Tiny', 'vocab = 257, dim = 16, depth = 1, heads = 2, kv_heads = 1, ffn = 32, ctx = 8')}\n`);
  await writeTokenizerJson(join(dir, 'tokenizer.json'), BYTES);
  const io = captureIo(dir);
  const code = await main(['init', 'lm.scion', '--model', 'Tiny', '--seed', '1', '-o', 'model.safetensors'], io);
  if (code !== 0) throw new Error(io.stderr);
});

const ARGS = [
  'generate',
  'lm.scion',
  '--model',
  'Tiny',
  '--weights',
  'model.safetensors',
  '--prompt',
  'hi',
  '--tokens',
  '24',
  '--seed',
  '5',
  '--temperature',
  '0',
  '--device',
  'reference',
];

describe('scion generate streams', () => {
  it('prints the prompt, then text as tokens come, in several writes; --json one object at the end', async () => {
    const io = chunkIo(dir);
    expect(await main(ARGS, io), io.stderr).toBe(0);
    const json = chunkIo(dir);
    expect(await main([...ARGS, '--json'], json), json.stderr).toBe(0);
    expect(json.chunks).toHaveLength(1);
    const r = JSON.parse(json.stdout) as { prompt: string; text: string; ids: number[] };
    expect(r.ids).toHaveLength(24);
    expect(io.chunks[0]).toBe('hi');
    expect(io.chunks.at(-1)).toBe('\n');
    expect(io.chunks.length).toBeGreaterThan(3);
    expect(io.stdout).toBe(`hi${r.text}\n`);
  });
});

describe('TextStream', () => {
  const stream = (): TextStream => new TextStream(BYTES);

  it('gives each ASCII token at once', () => {
    const s = stream();
    expect([...'ab'].map((c) => s.push(c.charCodeAt(0)))).toEqual(['a', 'b']);
    expect(s.flush()).toBe('');
  });

  it('holds the bytes of a character until it is whole', () => {
    const s = stream();
    const bytes = [...new TextEncoder().encode('é€')]; // C3 A9, E2 82 AC
    expect(bytes.map((b) => s.push(b))).toEqual(['', 'é', '', '', '€']);
  });

  it('gives up on a broken character after 4 tokens, and flushes what waits at the end', () => {
    const s = stream();
    expect([0xe2, 0xe2, 0xe2, 0xe2].map((b) => s.push(b))).toEqual(['', '', '', '\uFFFD'.repeat(4)]);
    expect(s.push(0xc3)).toBe('');
    expect(s.flush()).toBe('\uFFFD');
  });
});
