// Reading and writing literal text: numbers with unit suffixes and strings with escapes.
// The parser (to-ast.ts) reads with these, the formatter writes with them, so both agree.

const SUFFIX_EXPONENT: Record<string, string> = { k: 'e3', M: 'e6', G: 'e9' };

const NUMBER = /^(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)([kMG]?)$/;

/**
 * The value of a numeric literal, or undefined when the text is not one (or overflows).
 * `isInt`: written without a fraction or exponent, or — with a unit suffix — a whole value
 * (`2k`, `1.5M` are ints; `1e3`, `0.5`, `1.0001k` are not).
 *
 * @example readNumber('1.5M') // { value: 1500000, isInt: true }
 */
export function readNumber(text: string): { value: number; isInt: boolean } | undefined {
  const m = NUMBER.exec(text);
  if (m === null) return undefined;
  const mantissa = m[1]!;
  const suffix = m[2]!;
  // Scale in decimal (`1.1e3`), not by multiplying floats (1.1 * 1000 = 1100.0000000000002).
  const value = suffix === '' ? Number(mantissa) : Number(scaleDecimal(mantissa, SUFFIX_EXPONENT[suffix]!));
  if (!Number.isFinite(value)) return undefined;
  const isInt = suffix === '' ? !/[.eE]/.test(mantissa) : Number.isInteger(value);
  return { value, isInt };
}

/** `1.5e-2` scaled by `e3` → `1.5e1`: add the exponents instead of multiplying. */
function scaleDecimal(mantissa: string, scale: string): string {
  const shift = Number(scale.slice(1));
  const m = /^([^eE]*)(?:[eE]([+-]?\d+))?$/.exec(mantissa)!;
  const exp = m[2] === undefined ? 0 : Number(m[2]);
  return `${m[1]!}e${exp + shift}`;
}

export interface EscapeError {
  /** Offset of the backslash within the literal's text (which starts with its quote). */
  offset: number;
  length: number;
  text: string;
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r' };

/**
 * The value of a string literal's source text (with its quotes; the closing one may be missing),
 * and every escape that could not be read.
 */
export function decodeString(image: string): { value: string; errors: EscapeError[] } {
  const errors: EscapeError[] = [];
  const closed = image.length >= 2 && image.endsWith('"') && !endsInEscape(image);
  const body = image.slice(1, closed ? -1 : undefined);
  let value = '';
  let i = 0;
  while (i < body.length) {
    const ch = body[i]!;
    if (ch !== '\\') {
      value += ch;
      i++;
      continue;
    }
    const next = body[i + 1];
    if (next !== undefined && Object.hasOwn(SIMPLE_ESCAPES, next)) {
      value += SIMPLE_ESCAPES[next]!;
      i += 2;
      continue;
    }
    if (next === 'u') {
      const m = /^\{([0-9A-Fa-f]{1,6})\}/.exec(body.slice(i + 2, i + 11));
      const cp = m === null ? NaN : parseInt(m[1]!, 16);
      if (m !== null && cp <= 0x10ffff) {
        value += String.fromCodePoint(cp);
        i += 2 + m[0].length;
        continue;
      }
      const len = m === null ? 2 : 2 + m[0].length;
      errors.push({ offset: i + 1, length: len, text: body.slice(i, i + len) });
      i += len;
      continue;
    }
    const len = next === undefined ? 1 : 1 + (next.codePointAt(0)! > 0xffff ? 2 : 1);
    errors.push({ offset: i + 1, length: len, text: body.slice(i, i + len) });
    i += len;
  }
  return { value, errors };
}

/** Whether the final quote of `image` is escaped (`"abc\"`), i.e. the literal is unterminated. */
function endsInEscape(image: string): boolean {
  let backslashes = 0;
  for (let i = image.length - 2; i >= 1 && image[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 1;
}

/** A string value as a literal that decodeString reads back exactly. */
export function encodeString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    // Control characters and lone surrogates would not survive a file round trip as raw text.
    else if (cp < 0x20 || cp === 0x7f || (cp >= 0xd800 && cp <= 0xdfff)) out += `\\u{${cp.toString(16)}}`;
    else out += ch;
  }
  return out + '"';
}
