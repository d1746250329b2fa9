// Hugging Face `tokenizer.json` for byte-level BPE: reading (merges as "a b" strings or [a, b]
// pairs, the ByteLevel pre-tokenizer and decoder, added tokens) and writing in the same layout
// `tokenizers` itself saves. Anything this tokenizer would not run faithfully (another model type,
// a normalizer, another pre-tokenizer) is refused with a message, not silently approximated.

import { readUtf8, Utf8Error } from '../text/utf8.ts';
import { BpeTokenizer, type AddedToken, type BpeModel } from './bpe.ts';
import { atomicWrite, writeAll } from '../weights/safetensors-writer.ts';

/** A tokenizer.json this runtime cannot use; `message` names the file and the field. */
export class TokenizerFormatError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'TokenizerFormatError';
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
const isObject = (v: Json | undefined): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses tokenizer.json text; `file` only labels errors. */
export function parseTokenizerJson(text: string, file = 'tokenizer.json'): BpeTokenizer {
  const fail = (detail: string): never => {
    throw new TokenizerFormatError(file, detail);
  };
  let root: Json;
  try {
    root = JSON.parse(text) as Json;
  } catch (error) {
    // JSON.parse quotes the text it choked on, newlines included: keep the message one line.
    return fail(`not JSON: ${(error as Error).message.replaceAll('\n', '\\n')}`);
  }
  if (!isObject(root)) return fail('must be a JSON object');
  const model = root.model;
  if (!isObject(model)) return fail("has no 'model' object");
  if (model.type !== 'BPE') fail(`model.type is ${JSON.stringify(model.type ?? null)}; only "BPE" is supported`);
  if (root.normalizer !== null && root.normalizer !== undefined) fail('has a normalizer; only byte-level BPE without one is supported');
  if ((model.continuing_subword_prefix ?? '') !== '' || (model.end_of_word_suffix ?? '') !== '') {
    fail('model uses continuing_subword_prefix/end_of_word_suffix, which byte-level BPE does not');
  }

  const pre = root.pre_tokenizer;
  if (!isObject(pre) || pre.type !== 'ByteLevel') fail('pre_tokenizer must be {"type": "ByteLevel"}');
  if ((pre as { use_regex?: Json }).use_regex === false) fail('pre_tokenizer.use_regex = false is not supported');
  const dec = root.decoder;
  if (dec !== null && dec !== undefined && !(isObject(dec) && dec.type === 'ByteLevel')) fail('decoder must be ByteLevel');

  if (!isObject(model.vocab)) return fail('model.vocab must be an object of token → id');
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) fail(`model.vocab['${token}'] must be a non-negative integer id`);
    vocab.set(token, id as number);
  }

  if (!Array.isArray(model.merges)) return fail('model.merges must be an array');
  const merges: [string, string][] = model.merges.map((m, i): [string, string] => {
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length !== 2 || parts[0] === '' || parts[1] === '') fail(`model.merges[${i}] "${m}" is not two tokens separated by one space`);
      return [parts[0]!, parts[1]!];
    }
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
    return fail(`model.merges[${i}] must be "a b" or ["a", "b"]`);
  });
  merges.forEach(([a, b], i) => {
    for (const t of [a, b, a + b]) if (!vocab.has(t)) fail(`model.merges[${i}] [${a}, ${b}] uses '${t}', which is not in model.vocab`);
  });

  const addedTokens: AddedToken[] = [];
  const added = root.added_tokens ?? [];
  if (!Array.isArray(added)) return fail('added_tokens must be an array');
  added.forEach((t, i) => {
    if (!isObject(t) || typeof t.id !== 'number' || typeof t.content !== 'string' || t.content === '') {
      fail(`added_tokens[${i}] needs a numeric id and non-empty content`);
    }
    const tok = t as { id: number; content: string; special?: Json };
    addedTokens.push({ id: tok.id, content: tok.content, special: tok.special === true });
  });

  const bpe: BpeModel = {
    vocab,
    merges,
    addedTokens,
    addPrefixSpace: (pre as { add_prefix_space?: Json }).add_prefix_space === true,
    ignoreMerges: model.ignore_merges === true,
  };
  try {
    return new BpeTokenizer(bpe);
  } catch (error) {
    return fail((error as Error).message);
  }
}

export async function readTokenizerJson(path: string): Promise<BpeTokenizer> {
  let text: string;
  try {
    text = await readUtf8(path);
  } catch (error) {
    if (error instanceof Utf8Error) throw error;
    throw new TokenizerFormatError(path, `cannot read: ${(error as Error).message}`);
  }
  return parseTokenizerJson(text, path);
}

/** The tokenizer.json object, in the layout `tokenizers` writes (merges as pairs, vocab by id). */
export function toTokenizerJson(tokenizer: BpeTokenizer): object {
  const { model } = tokenizer;
  const byte = { type: 'ByteLevel', add_prefix_space: model.addPrefixSpace, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...model.addedTokens]
      .sort((a, b) => a.id - b.id)
      .map((t) => ({
        id: t.id,
        content: t.content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: !t.special,
        special: t.special,
      })),
    normalizer: null,
    pre_tokenizer: byte,
    post_processor: { ...byte, trim_offsets: false },
    decoder: byte,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: model.ignoreMerges,
      vocab: Object.fromEntries([...model.vocab].sort((a, b) => a[1] - b[1])),
      merges: model.merges.map(([a, b]) => [a, b]),
    },
  };
}

export async function writeTokenizerJson(path: string, tokenizer: BpeTokenizer): Promise<void> {
  const text = `${JSON.stringify(toTokenizerJson(tokenizer), null, 2)}\n`;
  await atomicWrite(path, (h) => writeAll(h, new TextEncoder().encode(text)));
}
