import { describe, expect, it } from 'vitest';
import { BYTE_CHARS_IN_VOCAB_ORDER, BYTE_TO_CHAR, toByteChars } from '../../../runtime/tokenizer/byte-level.ts';
import { parseTokenizerJson } from '../../../runtime/tokenizer/index.ts';

const byteVocab = Object.fromEntries(BYTE_CHARS_IN_VOCAB_ORDER.map((c, i) => [c, i]));
const base = {
  added_tokens: [],
  normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  decoder: { type: 'ByteLevel' },
  model: { type: 'BPE', vocab: { ...byteVocab, ab: 256 }, merges: ['a b'] },
};
const withModel = (patch: Record<string, unknown>) => JSON.stringify({ ...base, model: { ...base.model, ...patch } });

describe('byte-level alphabet', () => {
  it("is GPT-2's bytes_to_unicode table", () => {
    expect(BYTE_TO_CHAR[0x21]).toBe('!');
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ'); // U+0120: space is the 33rd non-printable byte (0..32)
    expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ'); // newline → U+010A
    expect(BYTE_TO_CHAR[0xad]).toBe('Ń'); // soft hyphen, the one gap in Latin-1 → U+0143
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(toByteChars('é ')).toBe('Ã©Ġ'); // UTF-8 C3 A9, then space
  });
});

describe('tokenizer.json parsing', () => {
  it('reads a minimal byte-level BPE and applies its merge', () => {
    const tok = parseTokenizerJson(JSON.stringify(base));
    expect(tok.encode('ab a')).toEqual([256, BYTE_CHARS_IN_VOCAB_ORDER.indexOf('Ġ'), byteVocab.a]);
  });

  it('honours add_prefix_space like HF (the space stays in the decoded text)', () => {
    const tok = parseTokenizerJson(JSON.stringify({ ...base, pre_tokenizer: { ...base.pre_tokenizer, add_prefix_space: true } }));
    const ids = tok.encode('ab');
    expect(ids).toEqual([BYTE_CHARS_IN_VOCAB_ORDER.indexOf('Ġ'), 256]);
    expect(tok.decode(ids)).toBe(' ab');
  });

  const CASES: [string, string, string][] = [
    ['not JSON', '{', 'f.json: not JSON: '],
    ['wrong model type', withModel({ type: 'WordPiece' }), 'f.json: model.type is "WordPiece"; only "BPE" is supported'],
    ['a normalizer', JSON.stringify({ ...base, normalizer: { type: 'NFC' } }), 'f.json: has a normalizer; only byte-level BPE without one is supported'],
    ['another pre-tokenizer', JSON.stringify({ ...base, pre_tokenizer: { type: 'Whitespace' } }), 'f.json: pre_tokenizer must be {"type": "ByteLevel"}'],
    ['bad merge string', withModel({ merges: ['a  b'] }), 'f.json: model.merges[0] "a  b" is not two tokens separated by one space'],
    ['merge outside vocab', withModel({ merges: [['a', 'c']] }), "f.json: model.merges[0] [a, c] uses 'ac', which is not in model.vocab"],
    ['bad id', withModel({ vocab: { ...byteVocab, ab: -1 } }), "f.json: model.vocab['ab'] must be a non-negative integer id"],
    ['id clash', withModel({ vocab: { ...byteVocab, ab: 0 } }), "f.json: BpeTokenizer: id 0 is both '!' and 'ab'"],
  ];
  it.each(CASES)('refuses %s', (_name, text, message) => {
    expect(() => parseTokenizerJson(text, 'f.json')).toThrow(message);
  });
});
