// Validation of a safetensors header against hostile input. Every check has its own `code` and
// message naming the file and, where there is one, the tensor; nothing here allocates more than
// the header text itself, so a lying header cannot make us reserve gigabytes.

import { DTYPES, isDtype, type Dtype } from './dtypes.ts';
import { isJsonObject, parseStrictJson, StrictJsonError, type JsonValue } from './strict-json.ts';

/** Headers above this size are refused before anything is read (HF's own cap is 100 MB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** The legitimate header nests 3 deep (root → tensor → data_offsets); anything past this is hostile. */
export const MAX_HEADER_DEPTH = 8;
/** No real tensor has more dimensions; the cap keeps shape products cheap to check. */
export const MAX_RANK = 16;

export type SafetensorsErrorCode =
  | 'too-short'
  | 'header-too-large'
  | 'header-past-end'
  | 'header-empty'
  | 'header-not-utf8'
  | 'header-not-json'
  | 'header-too-deep'
  | 'header-not-object'
  | 'duplicate-name'
  | 'empty-name'
  | 'entry-not-object'
  | 'entry-missing-field'
  | 'entry-unknown-field'
  | 'dtype-not-string'
  | 'unknown-dtype'
  | 'shape-not-array'
  | 'rank-too-large'
  | 'bad-dimension'
  | 'shape-too-large'
  | 'offsets-not-pair'
  | 'bad-offset'
  | 'offsets-reversed'
  | 'size-mismatch'
  | 'offsets-out-of-bounds'
  | 'offsets-overlap'
  | 'data-hole'
  | 'data-trailing'
  | 'metadata-not-object'
  | 'metadata-not-string'
  | 'unknown-tensor'
  | 'index-invalid'
  | 'shard-missing'
  | 'shard-path'
  | 'shard-tensor-missing'
  | 'shard-tensor-unlisted'
  | 'io'
  /** The path is a directory or another non-file. */
  | 'not-a-file';

/** A user error in a safetensors file or index: the CLI prints `message` and exits 1. */
export class SafetensorsError extends Error {
  constructor(
    readonly code: SafetensorsErrorCode,
    readonly file: string,
    detail: string,
    readonly tensor?: string,
  ) {
    super(`${file}: ${tensor === undefined ? '' : `tensor '${tensor}': `}${detail}`);
    this.name = 'SafetensorsError';
  }
}

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  byteLength: number;
  /** Byte offset of the tensor's data, from the start of the file. */
  fileOffset: number;
}

export interface ParsedHeader {
  /** In file-offset order. */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

const ENTRY_FIELDS = ['dtype', 'shape', 'data_offsets'] as const;

/**
 * Checks the 8-byte prefix: returns the header length N after checking that 8 + N fits in the file
 * and under the cap. `prefix` holds the file's first min(8, size) bytes.
 */
export function checkHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8) {
    throw new SafetensorsError('too-short', file, `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  }
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError('header-too-large', file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const length = Number(n);
  if (8 + length > fileSize) {
    throw new SafetensorsError('header-past-end', file, `header length ${length} runs past the end of the ${fileSize}-byte file`);
  }
  if (length < 2) throw new SafetensorsError('header-empty', file, `header length ${length} is too small to hold a JSON object`);
  return length;
}

/** Parses and validates the header bytes; `dataSize` is the file size minus 8 + N. */
export function parseHeader(file: string, headerBytes: Uint8Array, dataStart: number, dataSize: number): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError('header-not-utf8', file, 'header is not valid UTF-8');
  }
  let root: JsonValue;
  try {
    root = parseStrictJson(text, MAX_HEADER_DEPTH);
  } catch (error) {
    if (!(error instanceof StrictJsonError)) throw error;
    if (error.reason === 'duplicate') {
      throw new SafetensorsError('duplicate-name', file, `header names '${error.key}' twice`, error.key);
    }
    if (error.reason === 'depth') throw new SafetensorsError('header-too-deep', file, `header JSON ${error.message}`);
    throw new SafetensorsError('header-not-json', file, `header is not JSON: ${error.message}`);
  }
  if (!isJsonObject(root)) {
    throw new SafetensorsError('header-not-object', file, `header must be a JSON object, found ${describe(root)}`);
  }

  let metadata: Record<string, string> = {};
  const spans: { name: string; info: TensorInfo; begin: number; end: number }[] = [];
  for (const [name, entry] of root.entries) {
    if (name === '__metadata__') {
      metadata = parseMetadata(file, entry);
      continue;
    }
    if (name === '') throw new SafetensorsError('empty-name', file, 'a tensor has an empty name');
    spans.push(parseEntry(file, name, entry, dataStart));
  }

  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const span of spans) {
    if (span.end > dataSize) {
      throw new SafetensorsError('offsets-out-of-bounds', file, `data_offsets [${span.begin}, ${span.end}] run past the ${dataSize}-byte data area`, span.name);
    }
    if (span.begin < cursor) {
      const previous = spans[spans.indexOf(span) - 1]!;
      throw new SafetensorsError(
        'offsets-overlap',
        file,
        `data_offsets [${span.begin}, ${span.end}] overlap tensor '${previous.name}' [${previous.begin}, ${previous.end}]`,
        span.name,
      );
    }
    if (span.begin > cursor) {
      throw new SafetensorsError(
        'data-hole',
        file,
        `data_offsets start at ${span.begin}, leaving bytes ${cursor}..${span.begin} of the data area unused`,
        span.name,
      );
    }
    cursor = span.end;
  }
  if (cursor !== dataSize) {
    throw new SafetensorsError('data-trailing', file, `the data area has ${dataSize} bytes but the tensors cover only ${cursor}`);
  }
  return { tensors: new Map(spans.map((s) => [s.name, s.info])), metadata };
}

function parseMetadata(file: string, value: JsonValue): Record<string, string> {
  if (!isJsonObject(value)) {
    throw new SafetensorsError('metadata-not-object', file, `__metadata__ must be an object of strings, found ${describe(value)}`);
  }
  const out: Record<string, string> = {};
  for (const [key, v] of value.entries) {
    if (typeof v !== 'string') {
      throw new SafetensorsError('metadata-not-string', file, `__metadata__ '${key}' must be a string, found ${describe(v)}`);
    }
    out[key] = v;
  }
  return out;
}

function parseEntry(file: string, name: string, entry: JsonValue, dataStart: number) {
  const err = (code: SafetensorsErrorCode, detail: string) => new SafetensorsError(code, file, detail, name);
  if (!isJsonObject(entry)) throw err('entry-not-object', `entry must be an object, found ${describe(entry)}`);
  for (const field of ENTRY_FIELDS) {
    if (!entry.entries.has(field)) throw err('entry-missing-field', `entry is missing '${field}'`);
  }
  for (const key of entry.entries.keys()) {
    if (!(ENTRY_FIELDS as readonly string[]).includes(key)) throw err('entry-unknown-field', `entry has unknown field '${key}'`);
  }
  const dtype = entry.entries.get('dtype')!;
  if (typeof dtype !== 'string') throw err('dtype-not-string', `dtype must be a string, found ${describe(dtype)}`);
  if (!isDtype(dtype)) {
    throw err('unknown-dtype', `unknown dtype '${dtype}' (known: ${Object.keys(DTYPES).join(', ')})`);
  }

  const shapeValue = entry.entries.get('shape')!;
  if (!Array.isArray(shapeValue)) throw err('shape-not-array', `shape must be an array, found ${describe(shapeValue)}`);
  if (shapeValue.length > MAX_RANK) throw err('rank-too-large', `shape has ${shapeValue.length} dimensions, more than ${MAX_RANK}`);
  const shape: number[] = [];
  let elements = 1;
  for (const dim of shapeValue) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw err('bad-dimension', `shape [${shapeValue.map(describeShort).join(', ')}] must hold non-negative integers`);
    }
    shape.push(dim);
    elements *= dim;
    if (elements > Number.MAX_SAFE_INTEGER) throw err('shape-too-large', `shape [${shapeValue.join(', ')}] has too many elements`);
  }

  const offsets = entry.entries.get('data_offsets')!;
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    throw err('offsets-not-pair', `data_offsets must be an array [begin, end], found ${describe(offsets)}`);
  }
  const [begin, end] = offsets;
  for (const o of [begin, end]) {
    if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) {
      throw err('bad-offset', `data_offsets [${offsets.map(describeShort).join(', ')}] must be non-negative integers`);
    }
  }
  const b = begin as number;
  const e = end as number;
  if (e < b) throw err('offsets-reversed', `data_offsets [${b}, ${e}] end before they begin`);
  const byteLength = elements * DTYPES[dtype].size;
  if (byteLength !== e - b) {
    throw err('size-mismatch', `shape [${shape.join(', ')}] of ${dtype} needs ${byteLength} bytes but data_offsets [${b}, ${e}] span ${e - b}`);
  }
  return { name, info: { dtype, shape, byteLength, fileOffset: dataStart + b }, begin: b, end: e };
}

function describe(value: JsonValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isJsonObject(value)) return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`.slice(0, 60);
}

function describeShort(value: JsonValue): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(isJsonObject(value) ? '{…}' : value);
}
