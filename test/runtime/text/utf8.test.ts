// The strict UTF-8 reader: the offset it names is the first byte where the text stops being UTF-8,
// judged against the platform's own fatal decoder (the independent oracle): everything before it
// decodes, and no continuation from it does.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUtf8, firstInvalidByte, Utf8Error } from '../../../runtime/text/utf8.ts';

const fatal = new TextDecoder('utf-8', { fatal: true });
const decodes = (b: Uint8Array): boolean => {
  try {
    fatal.decode(b);
    return true;
  } catch {
    return false;
  }
};

/** Bytes that are mostly UTF-8 with damage: truncations, stray continuation bytes, overlongs, surrogates. */
const damaged = fc
  .tuple(fc.string({ unit: 'binary', maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }), fc.nat())
  .map(([s, junk, at]) => {
    const good = new TextEncoder().encode(s);
    const cut = good.length === 0 ? 0 : at % (good.length + 1);
    return Uint8Array.from([...good.subarray(0, cut), ...junk, ...good.subarray(cut)]);
  });

describe('firstInvalidByte', () => {
  it('agrees with the fatal decoder: the prefix decodes, no sequence starting at the offset does', () => {
    fc.assert(
      fc.property(damaged, (b) => {
        const n = firstInvalidByte(b);
        expect(decodes(b.subarray(0, n))).toBe(true);
        if (n === b.length) expect(decodes(b)).toBe(true);
        else for (let k = 1; k <= 4 && n + k <= b.length; k++) expect(decodes(b.subarray(n, n + k))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['a lone continuation byte', [0x61, 0x80], 1],
    ['an overlong `/` (C0 AF)', [0xc0, 0xaf], 0],
    ['an overlong 3-byte form (E0 80 80)', [0x41, 0xe0, 0x80, 0x80], 1],
    ['a surrogate (ED A0 80)', [0xed, 0xa0, 0x80], 0],
    ['past U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80], 0],
    ['a sequence cut by the end', [0x61, 0x62, 0xe2, 0x82], 2],
    ['Latin-1 é in ASCII', [0x63, 0x61, 0x66, 0xe9, 0x0a], 3],
    ['valid 4-byte then junk', [0xf0, 0x9f, 0x99, 0x82, 0xff], 4],
  ])('%s', (_what, bytes, at) => {
    expect(firstInvalidByte(Uint8Array.from(bytes))).toBe(at);
  });
});

describe('decodeUtf8', () => {
  it('names the file, the byte and the line', () => {
    const bytes = new TextEncoder().encode('model M {\n  // caf_\n}\n');
    bytes[17] = 0xe9; // the `_`
    expect(() => decodeUtf8(bytes, 'spec.scion')).toThrow(new Utf8Error('spec.scion', 17, 2));
    expect(new Utf8Error('spec.scion', 17, 2).message).toBe('spec.scion: invalid UTF-8 at byte 17 (line 2): save the file as UTF-8');
  });

  it('a byte-order mark at the start is dropped; bytes are counted from the file start', () => {
    expect(decodeUtf8(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61]), 'x')).toBe('a');
    expect(() => decodeUtf8(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61, 0xff]), 'x')).toThrow(new Utf8Error('x', 4, 1));
  });
});
