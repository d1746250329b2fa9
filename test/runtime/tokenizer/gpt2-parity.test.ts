// Our byte-level BPE, fed GPT-2's vocabulary and recovered merges, must give exactly the ids of
// gpt-tokenizer's own (tiktoken-style) GPT-2 encoder — an independent implementation.

import fc from 'fast-check';
import { encode as referenceEncode, decode as referenceDecode } from 'gpt-tokenizer/encoding/gpt2';
import { describe, expect, it } from 'vitest';
import { gpt2Tokenizer, GPT2_EOT_ID, parseTokenizerJson, toTokenizerJson } from '../../../runtime/tokenizer/index.ts';

const tok = gpt2Tokenizer();

// Words, punctuation, digits, contractions, whitespace runs and non-Latin text, mixed.
const PIECES = [
  "'s",
  "'ll",
  "n't",
  ' the',
  'The',
  ' 1984',
  '3.14',
  '  ',
  '\n',
  '\n\n',
  '\t',
  '!!',
  '?',
  ' — ',
  'naïve',
  'café',
  '日本語',
  '🎉',
  '👩‍👩‍👧',
  'Ġ',
  'ñ',
  '$',
  '...',
  'HTTP',
  'x',
];
const textArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.array(fc.constantFrom(...PIECES), { maxLength: 20 }).map((p) => p.join('')),
);

describe('GPT-2 parent tokenizer', () => {
  it("has GPT-2's size and first merges", () => {
    expect(tok.size).toBe(50257);
    expect(tok.model.merges.length).toBe(50000);
    // The first lines of GPT-2's merges.txt.
    expect(tok.model.merges.slice(0, 4)).toEqual([
      ['Ġ', 't'],
      ['Ġ', 'a'],
      ['h', 'e'],
      ['i', 'n'],
    ]);
    expect(tok.idToToken[GPT2_EOT_ID]).toBe('<|endoftext|>');
  });

  it('encodes fixed texts exactly as gpt-tokenizer does', () => {
    for (const text of [
      'Hello world',
      "It's 9:30 and they'll've gone.",
      '   leading and trailing   ',
      'tabs\tand\r\nCRLF',
      'Ünïcödé façade — “quotes”',
      '😀😃 emoji 🧑🏽‍🚀',
      'x'.repeat(300),
      '12345678901234567890',
      '',
    ]) {
      expect(tok.encode(text)).toEqual(referenceEncode(text));
    }
    // A well-known id: " the" is 262 in GPT-2.
    expect(tok.encode(' the')).toEqual([262]);
  });

  it('matches gpt-tokenizer on arbitrary text (property)', () => {
    fc.assert(
      fc.property(textArb, (text) => {
        expect(tok.encode(text)).toEqual(referenceEncode(text));
      }),
      { numRuns: 400, seed: 20240601 },
    );
  });

  it("decodes back to the text, agreeing with gpt-tokenizer's decoder (property)", () => {
    fc.assert(
      fc.property(textArb, (text) => {
        const ids = tok.encode(text);
        expect(tok.decode(ids)).toBe(text);
        expect(tok.decode(ids)).toBe(referenceDecode(ids));
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('cuts the special token out before BPE', () => {
    expect(tok.encode('a<|endoftext|>b')).toEqual([...tok.encode('a'), GPT2_EOT_ID, ...tok.encode('b')]);
    expect(tok.decode([GPT2_EOT_ID])).toBe('<|endoftext|>');
  });

  it('survives a round trip through tokenizer.json, with merges as strings or as pairs', () => {
    const json = toTokenizerJson(tok) as { model: { merges: [string, string][] } };
    const fromPairs = parseTokenizerJson(JSON.stringify(json));
    const asStrings = { ...json, model: { ...json.model, merges: json.model.merges.map(([a, b]) => `${a} ${b}`) } };
    const fromStrings = parseTokenizerJson(JSON.stringify(asStrings));
    const text = "A tokenizer.json round trip: don't lose   anything! 日本 🎉";
    expect(fromPairs.encode(text)).toEqual(tok.encode(text));
    expect(fromStrings.encode(text)).toEqual(tok.encode(text));
    expect(fromStrings.model.merges).toEqual(tok.model.merges);
  });
});
