// Text generation from a causal language model: one forward pass per new token over the last
// `ctx` tokens (no KV cache; the models here are small), sampling the next token from
// softmax(logits / temperature) restricted to the top k, with a seeded PRNG so a seed repeats.
// Pure (no Node module): the playground's page generates with it too.

import type { Program } from '../../grammar/ast.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { Prng } from '../../runtime/data/prng.ts';
import type { BpeTokenizer } from '../../runtime/tokenizer/bpe.ts';
import type { Backend } from '../../backends/backend.ts';
import { endOfText } from './token-stream.ts';
import { JobError } from './errors.ts';

export interface TextModel {
  /** Forward graph at batch 1: input `input` i32[1, ctx] → output `logits` f32[1, ctx, vocab]. */
  graph: Graph;
  input: string;
  output: string;
  ctx: number;
  vocab: number;
  /** Parameters by Scion path. */
  params: ReadonlyMap<string, Tensor>;
}

export interface SampleOptions {
  prompt: string;
  /** New tokens to draw. */
  tokens: number;
  /** 0: greedy. */
  temperature: number;
  /** 0: the whole vocabulary. */
  topK: number;
  seed: number;
}

/**
 * The sample `scion train` prints after a language model's run (and the playground after its run).
 * A prompt that starts a sentence's middle, a cooler temperature and the top 10 tokens: on the main
 * job's model 89–91% of the words over 10 seeds are words of the training text (two trainings),
 * against 77–81% for "The" at temperature 0.8 and top-k 40 (README; bench/sample-words.ts).
 */
export const END_SAMPLE: SampleOptions = { prompt: 'The man said that', tokens: 48, temperature: 0.6, topK: 10, seed: 0 };

/**
 * The next token from one row of logits: greedy at temperature 0, else a draw from the top-k
 * softmax at that temperature. Ids the tokenizer does not know (`allowed[id] === 0`) never come.
 */
export function sampleToken(logits: ArrayLike<number>, allowed: Uint8Array, o: { temperature: number; topK: number }, prng: Prng): number {
  const ids: number[] = [];
  for (let i = 0; i < logits.length; i++) if (allowed[i] === 1) ids.push(i);
  if (ids.length === 0) throw new Error('sampleToken: no allowed token');
  // Highest logit first; ties by id so the order is deterministic.
  ids.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  if (o.temperature <= 0) return ids[0] as number;
  const kept = o.topK > 0 ? ids.slice(0, o.topK) : ids;
  const top = logits[kept[0] as number] as number;
  const weights = kept.map((i) => Math.exp(((logits[i] as number) - top) / o.temperature));
  const total = weights.reduce((a, w) => a + w, 0);
  let u = prng.nextFloat() * total;
  for (let k = 0; k < kept.length; k++) {
    u -= weights[k] as number;
    if (u <= 0) return kept[k] as number;
  }
  return kept[kept.length - 1] as number;
}

/** Draws `o.tokens` tokens after the prompt; returns the new text (without the prompt) and ids. */
/**
 * Text as tokens arrive: each token's text once its bytes make whole characters. A byte-level token
 * can end inside a UTF-8 character (its decode ends in U+FFFD); such tokens wait for the next, up
 * to 4 (a character's most bytes), so the pieces join to the text decoded at the end.
 */
export class TextStream {
  private pending: number[] = [];
  constructor(private readonly tokenizer: BpeTokenizer) {}

  /** The text `id` completes, or '' while a character is still open. */
  push(id: number): string {
    this.pending.push(id);
    const text = this.tokenizer.decode(this.pending);
    if (text.endsWith('\uFFFD') && this.pending.length < 4) return '';
    this.pending = [];
    return text;
  }

  /** Whatever is still waiting. */
  flush(): string {
    const text = this.pending.length === 0 ? '' : this.tokenizer.decode(this.pending);
    this.pending = [];
    return text;
  }
}

/** Draws `o.tokens` tokens after the prompt; `onText` receives the text as it comes (TextStream). */
export async function generateText(
  m: TextModel,
  backend: Backend,
  tokenizer: BpeTokenizer,
  o: SampleOptions,
  onText?: (text: string) => void,
): Promise<{ text: string; ids: number[] }> {
  const stream = onText === undefined ? undefined : new TextStream(tokenizer);
  const eot = endOfText(tokenizer);
  const context = tokenizer.encode(o.prompt);
  // An empty prompt starts a fresh document: after end-of-text, as in training.
  if (context.length === 0) {
    if (eot === undefined) throw new JobError('give a --prompt: this tokenizer has no end-of-text token to start from');
    context.push(eot);
  }
  const allowed = new Uint8Array(m.vocab);
  for (let i = 0; i < Math.min(m.vocab, tokenizer.size); i++) allowed[i] = tokenizer.idToToken[i] === undefined ? 0 : 1;
  const prng = new Prng(o.seed);
  const feeds = new Map(m.params);
  const out: number[] = [];
  for (let step = 0; step < o.tokens; step++) {
    const window = context.slice(-m.ctx);
    const row = new Int32Array(m.ctx); // positions after the window are padding the causal mask hides
    row.set(window);
    feeds.set(m.input, { dtype: 'i32', shape: [1, m.ctx], data: row });
    const logits = (await backend.run(m.graph, feeds, [m.output])).get(m.output);
    if (logits === undefined) throw new Error(`generateText: the graph has no output '${m.output}'`);
    const at = window.length - 1;
    const next = sampleToken(logits.data.subarray(at * m.vocab, (at + 1) * m.vocab), allowed, o, prng);
    context.push(next);
    out.push(next);
    const piece = stream?.push(next);
    if (piece) onText?.(piece);
  }
  const rest = stream?.flush();
  if (rest) onText?.(rest);
  return { text: tokenizer.decode(out), ids: out };
}

/** The model's forward graph at batch 1 with `params` as its weights. */
export function textModel(program: Program, model: string, params: ReadonlyMap<string, Tensor>): TextModel {
  const m = lowerModel(program, model, { dims: { batch: 1 } });
  const input = m.inputs[0];
  const logits = m.outputs.find((x) => x.name === 'logits') ?? m.outputs[0];
  if (m.inputs.length !== 1 || input === undefined || input.dtype !== 'i32' || input.shape.length !== 2 || logits === undefined) {
    throw new JobError(`'${model}' is not a language model: generate needs one i32[batch, ctx] input and a logits output`);
  }
  const shape = m.graph.nodes[logits.node]?.shape ?? [];
  return { graph: m.graph, input: input.name, output: logits.name, ctx: input.shape[1] as number, vocab: shape[shape.length - 1] ?? 0, params };
}
