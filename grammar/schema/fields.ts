// The single source of truth for what each configuring declaration accepts.
// From this table come: the checker's key validation (unknown key → did-you-mean), the field-name
// types used by the compiler, and the JSON Schema of the YAML form (grammar/yaml/schema.ts).

import type { ConfigKind } from '../ast.ts';

/**
 * How a field's value is written:
 * - `expr`: any expression (a call, a reference, a number, a record…);
 * - `string`: a string literal (a path); in YAML a plain string;
 * - `strings`: a list of string literals (name patterns); in YAML a list of plain strings;
 * - `int`, `number`, `bool`: a literal (an int may use suffixes: `2k`);
 * - `model`: a model name, optionally `frozen`.
 */
export type ValueKind = 'expr' | 'string' | 'strings' | 'int' | 'number' | 'bool' | 'model';

export interface FieldSpec {
  readonly kind: ValueKind;
  readonly doc: string;
  readonly required?: boolean;
}

const f = (kind: ValueKind, doc: string, required = false): FieldSpec => (required ? { kind, doc, required } : { kind, doc });

export const CONFIG_FIELDS = {
  inherit: {
    layers: f('expr', 'which parent layers the child keeps: a list of indices, keep_ends(first, last), block_influence(calib) or drop_one(calib)'),
    dim: f('expr', 'how residual channels are chosen: l1, l2, taylor(calib), activation(calib), learned_mask(calib, steps), or an index list'),
    heads: f('expr', 'how attention heads are chosen (grouped KV heads follow their queries)'),
    ffn: f('expr', 'how FFN neurons are chosen (gate, up and down together)'),
    channels: f('expr', 'how UNet channels are chosen (convs and norms together)'),
    vocab: f('expr', 'vocabulary compression: compress(tokenizer, corpus, size | coverage)'),
    blocks: f('expr', 'block copy map for assembled UNets: a record from child block to parent block'),
    except: f('strings', 'parameter path patterns not inherited (initialized by the family rules instead)'),
    init: f('expr', 'initializer for parameters that are not inherited (default: the family rule)'),
    seed: f('int', 'seed for the tensors `except` initializes and for adapter inits (every selection is deterministic)'),
  },
  prune: {
    layers: f('expr', 'layers to keep or drop'),
    blocks: f('expr', 'UNet units to remove: drop(["down[1].res[1]", …])'),
    dim: f('expr', 'target residual width or ratio, with a metric'),
    heads: f('expr', 'target head count or ratio, with a metric'),
    ffn: f('expr', 'target FFN width or ratio, with a metric'),
    channels: f('expr', 'target channel count or ratio, with a metric'),
    metric: f('expr', 'default importance metric: l1, l2, taylor(calib), activation(calib)'),
    schedule: f('expr', 'one_shot, iterative(amount, every) or learned_mask(penalty, steps)'),
    calib: f('expr', 'calibration data for data-driven metrics'),
    seed: f('int', 'seed'),
  },
  adapter: {
    targets: f('strings', 'parameter path patterns of the linear layers to adapt', true),
    rank: f('int', 'LoRA rank r', true),
    alpha: f('number', 'LoRA scale numerator: the update is x·A·B·alpha/rank'),
    init: f('expr', 'zeros, gaussian or pissa(niter = 16)'),
    dropout: f('number', 'dropout on the adapter input, in [0, 1)'),
  },
  train: {
    data: f('expr', 'training data: brown(split, seq), mnist(split), text(path), jsonl(path), images(path)', true),
    calib: f('expr', 'calibration data for data-driven selection'),
    eval: f('expr', 'validation data and cadence: { data = brown(split = val), every = 100 }'),
    tokenizer: f('string', "path of a tokenizer.json (default: the data set's)"),
    teacher: f('model', 'a frozen model to distil from; its taps are teacher.NAME'),
    base: f('model', 'the frozen base (the model without adapters); its taps are base.NAME'),
    loss: f('expr', 'the objective: an expression over taps, losses and regularizers', true),
    optimizer: f('expr', 'adamw(lr, betas, weight_decay, clip) or sgd(lr, momentum, clip)'),
    schedule: f('expr', 'learning-rate schedule: constant, linear(warmup), warmup_cosine(warmup, min_lr)'),
    steps: f('int', 'optimizer steps', true),
    batch: f('int', 'examples per step'),
    accumulate: f('int', 'micro-batches accumulated per optimizer step'),
    checkpoint: f('expr', 'checkpoint cadence: { every = 500, keep = 3 }'),
    rounds: f('expr', 'multiple-round training: { count = 2, sample = 0.5, weight = softmax(loss) }'),
    ema: f('number', 'EMA decay of the weights (e.g. 0.9999); absent: no EMA'),
    seed: f('int', 'seed for data order, initialization and dropout'),
  },
  sample: {
    sampler: f('expr', 'ddpm(steps) or ddim(steps, eta)', true),
    guidance: f('number', 'classifier-free guidance scale (1: none)'),
    reuse: f('expr', 'feature inheritance: cache(tap, every = N) or cache(tap, steps = [..])'),
    switch: f('expr', 'multi-model schedule: [Small when t > 600, UNet]'),
    classes: f('expr', 'class labels to draw, e.g. [0, 1, 2] or range 0..10'),
    count: f('int', 'images per class'),
    seed: f('int', 'seed'),
  },
} as const satisfies Record<ConfigKind, Record<string, FieldSpec>>;

export type ConfigFieldName<K extends ConfigKind> = keyof (typeof CONFIG_FIELDS)[K] & string;
