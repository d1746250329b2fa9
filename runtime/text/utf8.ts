// The one reader of text files a user gives (specs and their imports, tokenizer.json, text and
// JSONL data): strict UTF-8. A byte sequence that is not UTF-8 is an error naming the file, the
// byte offset and the line — never a U+FFFD that a later `fmt` or `convert` would write back out.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** `spec.scion: invalid UTF-8 at byte 1234 (line 5)`; `byte` is 0-based, `line` 1-based. */
export class Utf8Error extends Error {
  constructor(
    readonly file: string,
    readonly byte: number,
    readonly line: number,
  ) {
    super(`${file}: invalid UTF-8 at byte ${byte} (line ${line}): save the file as UTF-8`);
    this.name = 'Utf8Error';
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes`, or a Utf8Error naming `file` and where the first bad byte is. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return decoder.decode(bytes);
  } catch {
    const byte = firstInvalidByte(bytes);
    let line = 1;
    for (let i = 0; i < byte; i++) if (bytes[i] === 0x0a) line++;
    throw new Utf8Error(file, byte, line);
  }
}

/** Reads and decodes a file; `name` is what the message calls it (the path as the user wrote it). */
export function readUtf8Sync(path: string, name: string = path): string {
  return decodeUtf8(readFileSync(path), name);
}

export async function readUtf8(path: string, name: string = path): Promise<string> {
  return decodeUtf8(await readFile(path), name);
}

/**
 * The offset of the first byte that does not begin or continue a well-formed UTF-8 sequence
 * (Unicode §3.9, table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF); a sequence
 * cut off by the end of the input is invalid at its lead byte. The length when all is valid.
 */
export function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    // Length and the range of the second byte, by the lead byte.
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 3;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 4;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + n > bytes.length) return i;
    const second = bytes[i + 1]!;
    if (second < lo || second > hi) return i;
    for (let k = 2; k < n; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    i += n;
  }
  return bytes.length;
}
