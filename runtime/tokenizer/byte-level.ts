// GPT-2's byte-level alphabet: every byte 0..255 gets a printable Unicode character, so BPE can
// work on strings without ever seeing a space or control byte. Printable Latin-1 bytes
// (! .. ~, ¡ .. ¬, ® .. ÿ) map to themselves; the other 68 bytes map to U+0100 upwards, in byte
// order (space, byte 32, becomes 'Ġ' U+0120). Token id 0..255 of GPT-2 follow this table's order.

/** BYTE_TO_CHAR[b] is the character standing for byte b. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCharCode(printable(b) ? b : 256 + next++);
  return table;
})();

export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** The 256 byte characters in GPT-2's vocabulary order: the printable ones first, then the rest. */
export const BYTE_CHARS_IN_VOCAB_ORDER: readonly string[] = (() => {
  const bytes = [...Array(256).keys()];
  const printable = bytes.filter((b) => BYTE_TO_CHAR[b]!.charCodeAt(0) === b);
  const rest = bytes.filter((b) => BYTE_TO_CHAR[b]!.charCodeAt(0) !== b);
  return [...printable, ...rest].map((b) => BYTE_TO_CHAR[b]!);
})();

/**
 * GPT-2's pre-tokenizer split (the ByteLevel pre-tokenizer's `use_regex`): contractions, an
 * optional space plus a run of letters, of digits, or of other symbols, then whitespace runs
 * (leaving the last space to the next word).
 */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const UTF8 = new TextEncoder();

/** Text → its UTF-8 bytes spelled in byte characters. */
export function toByteChars(text: string): string {
  let out = '';
  for (const b of UTF8.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}

/** Byte characters → bytes; a character outside the alphabet is a bug in the caller's vocab. */
export function fromByteChars(chars: string, into: number[]): void {
  for (const ch of chars) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) throw new Error(`fromByteChars: '${ch}' (U+${ch.codePointAt(0)!.toString(16)}) is not a byte-level character`);
    into.push(b);
  }
}

/** Splits text into GPT-2 pre-tokens (pieces that BPE never merges across). */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_SPLIT) ?? [];
}
