// A small strict JSON parser for safetensors headers. JSON.parse silently keeps the last of
// duplicate keys and recurses without limit; a hostile header could use either to hide a tensor
// or blow the stack, so headers are parsed here with both checked.

/** A JSON value as parsed; objects keep insertion order in a Map so duplicates cannot hide. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  readonly kind: 'object';
  readonly entries: Map<string, JsonValue>;
}

/** Why a text is not acceptable JSON; `position` is a UTF-16 offset into the text. */
export class StrictJsonError extends Error {
  constructor(
    readonly reason: 'syntax' | 'depth' | 'duplicate',
    message: string,
    readonly position: number,
    readonly key?: string,
  ) {
    super(message);
  }
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Parses `text` as one JSON value (surrounding whitespace allowed), refusing duplicate object
 * keys and containers nested deeper than `maxDepth`.
 */
export function parseStrictJson(text: string, maxDepth: number): JsonValue {
  let pos = 0;

  const fail = (message: string): never => {
    throw new StrictJsonError('syntax', `${message} at character ${pos}`, pos);
  };
  const skipWs = (): void => {
    while (pos < text.length && WS.has(text[pos]!)) pos++;
  };
  const expect = (literal: string): void => {
    if (text.startsWith(literal, pos)) pos += literal.length;
    else fail(`expected '${literal}'`);
  };

  const parseString = (): string => {
    pos++; // opening quote
    let out = '';
    let start = pos;
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const ch = text.charCodeAt(pos);
      if (ch === 0x22) break;
      if (ch < 0x20) fail('control character in string');
      if (ch === 0x5c) {
        out += text.slice(start, pos);
        const esc = text[pos + 1];
        if (esc === 'u') {
          const hex = text.slice(pos + 2, pos + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 6;
        } else if (esc !== undefined && Object.hasOwn(ESCAPES, esc)) {
          out += ESCAPES[esc];
          pos += 2;
        } else {
          fail('bad escape');
        }
        start = pos;
        continue;
      }
      pos++;
    }
    out += text.slice(start, pos);
    pos++; // closing quote
    return out;
  };

  const parseValue = (depth: number): JsonValue => {
    skipWs();
    const ch = text[pos];
    if (ch === '{' || ch === '[') {
      if (depth >= maxDepth) {
        throw new StrictJsonError('depth', `nesting deeper than ${maxDepth} levels at character ${pos}`, pos);
      }
      return ch === '{' ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (ch === '"') return parseString();
    if (ch === 't') return (expect('true'), true);
    if (ch === 'f') return (expect('false'), false);
    if (ch === 'n') return (expect('null'), null);
    NUMBER.lastIndex = pos;
    const match = NUMBER.exec(text);
    if (match === null) return fail(ch === undefined ? 'unexpected end of text' : `unexpected '${ch}'`);
    pos += match[0].length;
    return Number(match[0]);
  };

  const parseArray = (depth: number): JsonValue[] => {
    pos++;
    const items: JsonValue[] = [];
    skipWs();
    if (text[pos] === ']') return (pos++, items);
    for (;;) {
      items.push(parseValue(depth));
      skipWs();
      if (text[pos] === ',') pos++;
      else if (text[pos] === ']') return (pos++, items);
      else fail("expected ',' or ']'");
    }
  };

  const parseObject = (depth: number): JsonObject => {
    pos++;
    const entries = new Map<string, JsonValue>();
    skipWs();
    if (text[pos] === '}') return (pos++, { kind: 'object', entries });
    for (;;) {
      skipWs();
      if (text[pos] !== '"') fail('expected a string key');
      const keyAt = pos;
      const key = parseString();
      if (entries.has(key)) {
        throw new StrictJsonError('duplicate', `duplicate key '${key}' at character ${keyAt}`, keyAt, key);
      }
      skipWs();
      expect(':');
      entries.set(key, parseValue(depth));
      skipWs();
      if (text[pos] === ',') pos++;
      else if (text[pos] === '}') return (pos++, { kind: 'object', entries });
      else fail("expected ',' or '}'");
    }
  };

  const value = parseValue(0);
  skipWs();
  if (pos !== text.length) fail('unexpected text after the JSON value');
  return value;
}
