// Valid ranges of numeric values, as data: call arguments by name (optionally per callee) and
// config fields by `kind.field` (records: `kind.field.key`). A value outside is E0412.

export interface ValueRange {
  readonly min?: number;
  readonly minOpen?: boolean; // min itself excluded
  readonly max?: number;
  readonly maxOpen?: boolean;
  readonly why: string;
}

const gt0 = (why: string): ValueRange => ({ min: 0, minOpen: true, why });
const ge0 = (why: string): ValueRange => ({ min: 0, why });
const ge1 = (why: string): ValueRange => ({ min: 1, why });
const unit = (why: string): ValueRange => ({ min: 0, max: 1, why }); // [0, 1]
const unitOpenHigh = (why: string): ValueRange => ({ min: 0, max: 1, maxOpen: true, why }); // [0, 1)
const unitOpenLow = (why: string): ValueRange => ({ min: 0, minOpen: true, max: 1, why }); // (0, 1]
const unitOpen = (why: string): ValueRange => ({ min: 0, minOpen: true, max: 1, maxOpen: true, why }); // (0, 1)

/** Argument ranges by argument name; `callee.arg` entries take precedence. */
export const ARG_RANGES: Readonly<Record<string, ValueRange>> = {
  lr: gt0('a learning rate must be positive'),
  T: gt0('a temperature must be positive'),
  eps: gt0('epsilon must be positive'),
  dropout: unitOpenHigh('a dropout rate is a probability below 1'),
  ratio: unitOpenLow('a keep ratio is a fraction in (0, 1]'),
  coverage: unitOpenLow('coverage is a fraction in (0, 1]'),
  amount: unitOpen('the amount pruned each time is a fraction in (0, 1)'),
  momentum: unitOpenHigh('momentum is in [0, 1)'),
  weight_decay: ge0('weight decay cannot be negative'),
  clip: ge0('a clipping norm cannot be negative (0 disables clipping)'),
  min_lr: ge0('a learning rate cannot be negative'),
  warmup: ge0('warmup steps cannot be negative'),
  eta: ge0('eta cannot be negative'),
  steps: ge1('a step count is at least 1'),
  every: ge1('a cadence is at least 1 step'),
  heads: ge1('a model needs at least one head'),
  kv_heads: ge1('a model needs at least one key/value head'),
  rank: ge1('a rank is at least 1'),
  niter: ge1('at least one power iteration'),
  hidden: ge1('a width is at least 1'),
  dim: ge1('a width is at least 1'),
  out: ge1('a width is at least 1'),
  num: ge1('a table has at least one row'),
  classes: ge1('at least one class'),
  channels: ge1('at least one channel'),
  patch: ge1('a patch is at least 1 pixel'),
  experts: ge1('at least one expert'),
  groups: ge1('at least one group'),
  kernel: ge1('a kernel is at least 1 wide'),
  stride: ge1('a stride is at least 1'),
  seq: ge1('a sequence has at least one token'),
  batches: ge0('a batch count cannot be negative (0: all)'),
  first: ge0('a layer count cannot be negative'),
  last: ge0('a layer count cannot be negative'),
  size: ge1('a size is at least 1'),
  'LabelEmbedding.dropout': unit('a label dropout rate is a probability'),
  'diversity.k': ge1('top-k needs k ≥ 1'),
  'svd_energy.k': ge1('top-k needs k ≥ 1'),
  'entropy.k': ge0('k cannot be negative (0: all logits)'),
  'ramp.steps': ge1('a ramp lasts at least 1 step'),
};

/** Field ranges by `kind.field` or, inside a record value, `kind.field.key`. */
export const FIELD_RANGES: Readonly<Record<string, ValueRange>> = {
  'train.steps': ge1('training needs at least one step'),
  'train.batch': ge1('a batch holds at least one example'),
  'train.accumulate': ge1('at least one micro-batch per step'),
  'train.ema': unitOpen('an EMA decay is in (0, 1)'),
  'train.seed': ge0('a seed cannot be negative'),
  'train.eval.every': ge1('evaluation runs every N ≥ 1 steps'),
  'train.checkpoint.every': ge1('checkpoints are written every N ≥ 1 steps'),
  'train.checkpoint.keep': ge1('keep at least one checkpoint'),
  'train.rounds.count': ge1('at least one round'),
  'train.rounds.sample': unit('the resampled fraction is in [0, 1]'),
  'adapter.rank': ge1('a LoRA rank is at least 1'),
  'adapter.alpha': gt0('alpha must be positive'),
  'adapter.dropout': unitOpenHigh('a dropout rate is in [0, 1)'),
  'sample.guidance': ge0('a guidance scale cannot be negative'),
  'sample.count': ge1('draw at least one image'),
  'sample.seed': ge0('a seed cannot be negative'),
  'inherit.seed': ge0('a seed cannot be negative'),
  'prune.seed': ge0('a seed cannot be negative'),
};

export function inRange(v: number, r: ValueRange): boolean {
  if (r.min !== undefined && (r.minOpen === true ? v <= r.min : v < r.min)) return false;
  if (r.max !== undefined && (r.maxOpen === true ? v >= r.max : v > r.max)) return false;
  return true;
}

/** "> 0", "≥ 1", "in [0, 1)". */
export function rangeText(r: ValueRange): string {
  if (r.min !== undefined && r.max !== undefined) return `in ${r.minOpen === true ? '(' : '['}${r.min}, ${r.max}${r.maxOpen === true ? ')' : ']'}`;
  if (r.min !== undefined) return `${r.minOpen === true ? '>' : '≥'} ${r.min}`;
  if (r.max !== undefined) return `${r.maxOpen === true ? '<' : '≤'} ${r.max}`;
  return 'any value';
}
