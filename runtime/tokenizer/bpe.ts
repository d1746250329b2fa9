// Byte-level BPE, as Hugging Face's `tokenizers` runs it for GPT-2: added tokens are cut out of the
// text first, the rest is split by GPT-2's regex, each piece is spelled in byte characters, and
// adjacent symbols are merged by merge priority (lowest rank first) until no merge applies.

import { fromByteChars, preTokenize, toByteChars } from './byte-level.ts';

/** A token matched literally in the text before BPE (e.g. `<|endoftext|>`). */
export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens are control symbols; compression always keeps them. */
  special: boolean;
}

export interface BpeModel {
  /** Token string (in byte characters) → id. Added tokens may or may not also appear here. */
  vocab: Map<string, number>;
  /** Merges in priority order: merges[0] applies first. */
  merges: [string, string][];
  addedTokens: AddedToken[];
  /** Prepend a space to text that does not start with one (ByteLevel `add_prefix_space`). */
  addPrefixSpace: boolean;
  /** Emit a pre-token whole when it is itself in the vocab (`ignore_merges`, Llama-3 style). */
  ignoreMerges: boolean;
}

// Merge keys join two symbols with a character no byte-level token contains.
const SEP = '\u0000';
const CACHE_LIMIT = 100_000;

export class BpeTokenizer {
  /** Id → token (vocab string or added-token content); holes are ids nothing uses. */
  readonly idToToken: (string | undefined)[] = [];
  private readonly ranks = new Map<string, number>();
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedSplit: RegExp | undefined;
  private readonly addedByContent = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();

  constructor(readonly model: BpeModel) {
    for (const [token, id] of model.vocab) this.setId(id, token);
    for (const t of model.addedTokens) {
      this.setId(t.id, t.content);
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t.id);
    }
    model.merges.forEach(([a, b], rank) => {
      const key = a + SEP + b;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
    // Longest first, so an added token that contains another wins.
    const contents = [...this.addedByContent.keys()].sort((a, b) => b.length - a.length);
    this.addedSplit = contents.length === 0 ? undefined : new RegExp(contents.map(escapeRegExp).join('|'), 'gu');
  }

  private setId(id: number, token: string): void {
    const existing = this.idToToken[id];
    if (existing !== undefined && existing !== token) {
      throw new Error(`BpeTokenizer: id ${id} is both '${existing}' and '${token}'`);
    }
    this.idToToken[id] = token;
  }

  /** One past the largest id. */
  get size(): number {
    return this.idToToken.length;
  }

  isAdded(id: number): boolean {
    return this.addedById.has(id);
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    let last = 0;
    if (this.addedSplit !== undefined) {
      for (const match of text.matchAll(this.addedSplit)) {
        this.encodeOrdinary(text.slice(last, match.index), ids);
        ids.push(this.addedByContent.get(match[0])!);
        last = match.index + match[0].length;
      }
    }
    this.encodeOrdinary(text.slice(last), ids);
    return ids;
  }

  private encodeOrdinary(text: string, ids: number[]): void {
    if (text === '') return;
    const input = this.model.addPrefixSpace && !text.startsWith(' ') ? ` ${text}` : text;
    for (const piece of preTokenize(input)) {
      const cached = this.cache.get(piece);
      if (cached !== undefined) {
        ids.push(...cached);
        continue;
      }
      const pieceIds = this.bpe(toByteChars(piece)).map((symbol) => {
        const id = this.model.vocab.get(symbol);
        if (id === undefined) throw new Error(`BpeTokenizer: symbol '${symbol}' has no id; the vocab lacks a byte token or a merge result`);
        return id;
      });
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(piece, pieceIds);
      ids.push(...pieceIds);
    }
  }

  /** Merges the characters of one pre-token; returns its final symbols. */
  private bpe(word: string): string[] {
    if (this.model.ignoreMerges && this.model.vocab.has(word)) return [word];
    let symbols = [...word];
    while (symbols.length > 1) {
      let best = Infinity;
      let pair = '';
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = symbols[i]! + SEP + symbols[i + 1]!;
        const rank = this.ranks.get(key);
        if (rank !== undefined && rank < best) {
          best = rank;
          pair = key;
        }
      }
      if (best === Infinity) break;
      // Merge every occurrence of the best pair, left to right.
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i]! + SEP + symbols[i + 1]! === pair) {
          merged.push(symbols[i]! + symbols[i + 1]!);
          i++;
        } else {
          merged.push(symbols[i]!);
        }
      }
      symbols = merged;
    }
    return symbols;
  }

  /**
   * UTF-8 bytes of text that id `id` spells: one per byte character of a vocab token, the
   * content's bytes for a literal added token, and 0 for a special one (`<|endoftext|>` marks a
   * document boundary; it is not text). Bits per byte divide by the sum of these.
   */
  byteLength(id: number): number {
    const token = this.idToToken[id];
    if (token === undefined) throw new RangeError(`byteLength: id ${id} is not in the vocabulary (size ${this.size})`);
    const added = this.addedById.get(id);
    if (added !== undefined) return added.special ? 0 : new TextEncoder().encode(added.content).length;
    return [...token].length; // byte-level characters: one per byte
  }

  /** Ids → text. Byte tokens are joined before UTF-8 decoding, so split characters reassemble. */
  decode(ids: readonly number[]): string {
    let text = '';
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length > 0) text += new TextDecoder('utf-8').decode(new Uint8Array(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const token = this.idToToken[id];
      if (token === undefined) throw new RangeError(`decode: id ${id} is not in the vocabulary (size ${this.size})`);
      const added = this.addedById.get(id);
      if (added !== undefined) {
        flush();
        text += added.content;
      } else {
        fromByteChars(token, bytes);
      }
    }
    flush();
    // Like HF's ByteLevel decoder, a prefix space added by encode stays in the text.
    return text;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
