import fc from 'fast-check';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BYTE_CHARS_IN_VOCAB_ORDER } from '../../../runtime/tokenizer/byte-level.ts';
import { BpeTokenizer, compressVocab, gpt2Tokenizer, GPT2_EOT_ID, readTokenizerJson, writeTokenizerJson } from '../../../runtime/tokenizer/index.ts';
import { loadBrown } from '../../../runtime/data/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scion-tok-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 256 byte tokens (GPT-2 order), then he, ll, hell, Ġw, hello, then <eot> = 261. */
function tinyTokenizer(): BpeTokenizer {
  const vocab = new Map(BYTE_CHARS_IN_VOCAB_ORDER.map((c, i): [string, number] => [c, i]));
  const merges: [string, string][] = [
    ['h', 'e'],
    ['l', 'l'],
    ['he', 'll'],
    ['Ġ', 'w'],
    ['hell', 'o'],
  ];
  merges.forEach(([a, b], i) => vocab.set(a + b, 256 + i));
  return new BpeTokenizer({ vocab, merges, addedTokens: [{ id: 261, content: '<eot>', special: true }], addPrefixSpace: false, ignoreMerges: false });
}

/** Every kept multi-character token must be the result of a kept merge of two reachable tokens. */
function assertReachable(tok: BpeTokenizer): void {
  const results = new Map<string, [string, string]>();
  for (const m of tok.model.merges) if (!results.has(m[0] + m[1])) results.set(m[0] + m[1], m);
  const reachable = (t: string, depth = 0): boolean => {
    if ([...t].length === 1) return true;
    const m = results.get(t);
    return m !== undefined && depth < 100 && reachable(m[0], depth + 1) && reachable(m[1], depth + 1);
  };
  for (const [token, id] of tok.model.vocab) {
    if (!tok.isAdded(id)) expect([token, reachable(token)]).toEqual([token, true]);
  }
  for (const [a, b] of tok.model.merges) {
    for (const t of [a, b, a + b]) expect(tok.model.vocab.has(t)).toBe(true);
  }
}

describe('compressVocab on a hand-built tokenizer', () => {
  const corpus = ['hello hello hello'];
  // The parent encodes this as [hello, Ġ, hello, Ġ, hello]: hello ×3, Ġ ×2 (5 tokens).

  it('keeps specials and bytes, then the frequent token with the merges it needs', () => {
    const { tokenizer, newToOld, oldToNew, coverage, corpusTokens } = compressVocab(tinyTokenizer(), corpus, { size: 261 });
    expect(corpusTokens).toBe(5);
    // hello needs hell, he, ll: 256 + eot + 4 = 261. Ġw (never used) is dropped.
    expect([...newToOld.slice(256)]).toEqual([256, 257, 258, 260, 261]);
    expect(oldToNew[259]).toBe(-1);
    expect(oldToNew[260]).toBe(259);
    expect(oldToNew[261]).toBe(260);
    expect(coverage).toBe(1);
    expect(tokenizer.model.merges).toEqual([
      ['h', 'e'],
      ['l', 'l'],
      ['he', 'll'],
      ['hell', 'o'],
    ]);
    expect(tokenizer.encode('hello<eot>')).toEqual([259, 260]);
    assertReachable(tokenizer);
  });

  it('skips a frequent token whose merge closure does not fit and fills with what does', () => {
    const { tokenizer, newToOld, coverage } = compressVocab(tinyTokenizer(), corpus, { size: 258 });
    // hello needs 4 slots, only 1 is free: the unused 'he' (lowest id) fills it. Only Ġ is covered.
    expect([...newToOld.slice(256)]).toEqual([256, 261]);
    expect(coverage).toBeCloseTo(2 / 5, 12);
    expect(tokenizer.model.merges).toEqual([['h', 'e']]);
    expect(tokenizer.decode(tokenizer.encode('hello'))).toBe('hello');
  });

  it('stops at a coverage target, and refuses a size below the mandatory tokens', () => {
    expect(compressVocab(tinyTokenizer(), corpus, { coverage: 0.4 }).newToOld.length).toBe(257);
    expect(compressVocab(tinyTokenizer(), corpus, { coverage: 0.9 }).newToOld.length).toBe(261);
    expect(() => compressVocab(tinyTokenizer(), corpus, { size: 100 })).toThrow('size 100 is below the 257 special and byte tokens');
  });
});

describe('compressVocab on GPT-2 with the Brown corpus', () => {
  const train = loadBrown('train')
    .slice(0, 12)
    .map((d) => d.text);
  const parent = gpt2Tokenizer();
  const result = compressVocab(parent, train, { size: 2048 });
  const child = result.tokenizer;

  it('keeps exactly `size` ids, monotone in the parent order, with <|endoftext|> last', () => {
    expect(result.newToOld.length).toBe(2048);
    expect(child.size).toBe(2048);
    for (let i = 1; i < 2048; i++) expect(result.newToOld[i]! > result.newToOld[i - 1]!).toBe(true);
    expect(result.oldToNew[GPT2_EOT_ID]).toBe(2047);
    for (let i = 0; i < 256; i++) expect(result.oldToNew[i]).toBe(i);
    assertReachable(child);
  });

  it('reports the coverage it achieves, recomputed independently', () => {
    let kept = 0;
    let total = 0;
    for (const text of train) {
      for (const id of parent.encode(text)) {
        total++;
        if (result.oldToNew[id]! >= 0) kept++;
      }
    }
    expect(result.corpusTokens).toBe(total);
    expect(result.coverage).toBeCloseTo(kept / total, 12);
    // 2k of GPT-2's 50k tokens still cover most of this English text.
    expect(result.coverage).toBeGreaterThan(0.75);
    expect(result.coverage).toBeLessThan(1);
  });

  it('decode(encode(x)) = x for arbitrary strings, unicode included (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 60 })), (text) => {
        const ids = child.encode(text);
        expect(ids.every((id) => id >= 0 && id < 2048)).toBe(true);
        expect(child.decode(ids)).toBe(text);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('encodes a kept word as the parent does, remapped', () => {
    // ' the' and ' of' are among the most frequent tokens of any English text.
    for (const word of [' the', ' of', ' and']) {
      const [old] = parent.encode(word);
      expect(child.encode(word)).toEqual([result.oldToNew[old!]]);
    }
  });

  it('writes tokenizer.json in HF format and reads it back identically', async () => {
    const path = join(dir, 'tokenizer.json');
    await writeTokenizerJson(path, child);
    // biome-ignore lint/suspicious/noExplicitAny: the test walks Hugging Face's JSON layout field by field
    const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, any>;
    expect(json.model.type).toBe('BPE');
    expect(json.pre_tokenizer).toEqual({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
    expect(json.added_tokens).toEqual([
      { id: 2047, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ]);
    expect(Object.keys(json.model.vocab).length).toBe(2048);
    const back = await readTokenizerJson(path);
    const text = loadBrown('val')[0]!.text.slice(0, 2000);
    expect(back.encode(text)).toEqual(child.encode(text));
    expect(back.model.merges).toEqual(child.model.merges);
  });
});
