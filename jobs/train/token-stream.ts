// A language model's token input, and documents → one token stream, each document followed by the tokenizer's end-of-text id: how
// every language-model job (and the playground's page) turns texts into training tokens. Pure:
// lm-data.ts reads the texts from files, a page fetches them.

import type { LoweredTrain } from '../../compiler/lower/lower-train.ts';
import { LowerError } from '../../grammar/eval/errors.ts';
import type { BpeTokenizer } from '../../runtime/tokenizer/bpe.ts';
import { GPT2_EOT } from '../../runtime/tokenizer/gpt2.ts';

/** The end-of-text id of a tokenizer, if it has one (documents are separated by it). */
export function endOfText(tokenizer: BpeTokenizer): number | undefined {
  return tokenizer.model.addedTokens.find((t) => t.content === GPT2_EOT)?.id;
}

/** All documents as one token stream, each followed by end-of-text when the tokenizer has it. */
export function encodeStream(tokenizer: BpeTokenizer, docs: readonly string[]): Int32Array {
  const eot = endOfText(tokenizer);
  const ids: number[] = [];
  for (const d of docs) {
    for (const id of tokenizer.encode(d)) ids.push(id);
    if (eot !== undefined) ids.push(eot);
  }
  return Int32Array.from(ids);
}

/** The i32[batch, ctx] token input of a language model, or a user error saying why there is none. */
export function tokenInput(t: LoweredTrain): { name: string; ctx: number } {
  const ins = t.student.inputs;
  const first = ins[0];
  if (ins.length !== 1 || first === undefined || first.dtype !== 'i32' || first.shape.length !== 2) {
    throw new LowerError(
      'E0904',
      `scion train runs language models (one i32[batch, ctx] input) so far; '${t.student.instance.name}' takes ${ins.map((i) => `${i.name}: ${i.dtype}[${i.shape.join(', ')}]`).join(', ')}`,
      t.decl.span,
    );
  }
  return { name: first.name, ctx: first.shape[1] as number };
}
