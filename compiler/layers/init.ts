// Initialization rules of each family, so `scion init` matches what the reference code would draw:
//   torch (default, and unet) — PyTorch module defaults: Linear/Conv weights kaiming-uniform(a=√5),
//     i.e. U(±1/√fan_in), biases U(±1/√fan_in), Embedding N(0, 1), norms ones/zeros;
//   llama, gpt2 — Hugging Face `_init_weights`: weights and embeddings N(0, 0.02), biases zero;
//   dit — DiT's `initialize_weights`: Linear xavier-uniform with zero bias, the patch conv
//     xavier-uniform over its [out, in·k·k] view, label table and timestep MLP N(0, 0.02), adaLN
//     modulations and the final linear zero; other convs (LiT's DWC) keep PyTorch's default.
// The named initializers a spec can write (`param w: [..] = normal(std = 0.01)`, inherit's
// `init = xavier_uniform`, an adapter's `init = pissa`) are one table, INITIALIZERS, over the
// library's init names; the family rules above draw from the same constructors.

import type { Preset } from '../../grammar/ast.ts';
import type { LIBRARY, LibraryName } from '../../grammar/library/signatures.ts';

export type Family = Preset | 'torch';

/** A concrete distribution (what gets sampled) plus the rule's name (what `explain` shows). */
export type Init =
  | { dist: 'zeros'; rule: string }
  | { dist: 'ones'; rule: string }
  | { dist: 'normal'; std: number; rule: string }
  | { dist: 'uniform'; bound: number; rule: string };

/** What a parameter is, which is all a family needs to choose its init. */
export type Role =
  | { kind: 'weight'; module: 'linear' | 'conv'; fanIn: number; fanOut: number }
  | { kind: 'bias'; module: 'linear' | 'conv'; fanIn: number }
  | { kind: 'embedding' }
  | { kind: 'norm_weight' }
  | { kind: 'norm_bias' };

/** Family-specific treatment of particular sub-modules (DiT zero-inits its modulations). */
export type InitTag = 'adaln' | 'final' | 'timestep_mlp' | 'patch' | 'lora_a' | 'lora_b';

/** The distributions, each with the name `explain` shows. */
const zeros = (): Init => ({ dist: 'zeros', rule: 'zeros' });
const ones = (): Init => ({ dist: 'ones', rule: 'ones' });
const normal = (std: number): Init => ({ dist: 'normal', std, rule: `normal(${std})` });
/** PyTorch's Linear/Conv weight default, U(±1/√fan_in). */
export const kaimingUniform = (fanIn: number): Init => ({ dist: 'uniform', bound: 1 / Math.sqrt(fanIn), rule: 'kaiming_uniform(a=√5)' });
const xavierUniform = (fanIn: number, fanOut: number): Init => ({ dist: 'uniform', bound: Math.sqrt(6 / (fanIn + fanOut)), rule: 'xavier_uniform' });

/** A library initializer (context 'init' in grammar/library/signatures.ts). */
export type InitName = { [K in LibraryName]: (typeof LIBRARY)[K]['context'] extends 'init' ? K : never }[LibraryName];

/** Fans as torch computes them: dim 1 (times the receptive field) in, dim 0 out; a vector's length both. */
export interface Fans {
  fanIn: number;
  fanOut: number;
}

export function fansOf(shape: readonly number[]): Fans {
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const field = shape.slice(2).reduce((p, d) => p * d, 1);
  return { fanIn: (shape[1] ?? 1) * field, fanOut: (shape[0] ?? 1) * field };
}

/** What one named initializer means for a parameter and for a LoRA adapter's factors. */
export interface InitRule {
  /** Numeric arguments it reads (the caller checks they are numbers). */
  readonly args: readonly string[];
  /** A parameter's distribution (param statements, inherit's `init =`); 'none': adapters only. */
  readonly param: ((f: Fans, args: Readonly<Record<string, number>>) => Init) | 'none';
  /**
   * LoRA's A [rank, inF] and B of an adapter on `weight` ('none': params only). PissA's real values
   * come from the SVD of the weight (jobs/inherit); its distribution is a usable fallback.
   */
  readonly lora: ((t: { inF: number; rank: number; weight: string }, args: Readonly<Record<string, number>>) => { a: Init; b: Init }) | 'none';
}

// Typed over the library's init names, so tsc names an initializer added to the library without a rule.
export const INITIALIZERS: Record<InitName, InitRule> = {
  // As a LoRA init, PEFT's default: A kaiming-uniform(a=√5), B zeros (the adapter starts as no change).
  zeros: { args: [], param: zeros, lora: ({ inF }) => ({ a: kaimingUniform(inF), b: zeros() }) },
  ones: { args: [], param: ones, lora: 'none' },
  // std's default is the signature's (0.02), for inherit's bare `init = normal`.
  normal: { args: ['std'], param: (_f, args) => normal(args['std'] ?? 0.02), lora: 'none' },
  xavier_uniform: { args: [], param: (f) => xavierUniform(f.fanIn, f.fanOut), lora: 'none' },
  kaiming_uniform: { args: [], param: (f) => kaimingUniform(f.fanIn), lora: 'none' },
  // PEFT's "gaussian": A ~ N(0, 1/r), B zeros.
  gaussian: { args: [], param: 'none', lora: ({ rank }) => ({ a: { dist: 'normal', std: 1 / rank, rule: 'normal(1/r)' }, b: zeros() }) },
  pissa: {
    args: ['niter'],
    param: 'none',
    lora: ({ inF, weight }, args) => {
      const rule = `pissa(niter=${args['niter'] ?? 16}) of ${weight}`;
      return { a: { dist: 'uniform', bound: 1 / Math.sqrt(inF), rule }, b: { dist: 'zeros', rule } };
    },
  },
};

/** The parameter initializers' names, in table order (for messages). */
export const PARAM_INIT_NAMES: readonly InitName[] = (Object.keys(INITIALIZERS) as InitName[]).filter((k) => INITIALIZERS[k].param !== 'none');

/** A named initializer's distribution for a parameter of `shape`; undefined for a name that is not one. */
export function paramInit(name: string, shape: readonly number[], args: Readonly<Record<string, number>> = {}): Init | undefined {
  const rule = Object.hasOwn(INITIALIZERS, name) ? INITIALIZERS[name as InitName].param : 'none';
  return rule === 'none' ? undefined : rule(fansOf(shape), args);
}

const torchDefault = (role: Role): Init => {
  switch (role.kind) {
    case 'weight':
      return kaimingUniform(role.fanIn);
    case 'bias':
      return { dist: 'uniform', bound: 1 / Math.sqrt(role.fanIn), rule: 'uniform(±1/√fan_in)' };
    case 'embedding':
      return normal(1);
    case 'norm_weight':
      return ones();
    case 'norm_bias':
      return zeros();
  }
};

const hfNormal = (role: Role): Init => {
  switch (role.kind) {
    case 'weight':
    case 'embedding':
      return normal(0.02);
    case 'bias':
    case 'norm_bias':
      return zeros();
    case 'norm_weight':
      return ones();
  }
};

const dit = (role: Role, tag: InitTag | undefined): Init => {
  if (tag === 'adaln' || tag === 'final') return zeros();
  if (tag === 'timestep_mlp' && role.kind === 'weight') return normal(0.02);
  switch (role.kind) {
    case 'weight':
      if (role.module === 'linear' || tag === 'patch') return xavierUniform(role.fanIn, role.fanOut);
      return torchDefault(role);
    case 'bias':
      return role.module === 'linear' || tag === 'patch' ? zeros() : torchDefault(role);
    case 'embedding':
      return normal(0.02);
    default:
      return torchDefault(role);
  }
};

export function familyOf(preset: Preset | undefined): Family {
  return preset ?? 'torch';
}

export function resolveInit(family: Family, role: Role, tag?: InitTag): Init {
  // LoRA's B starts at zero in every family, so an adapter begins as the identity change.
  if (tag === 'lora_b') return zeros();
  if (tag === 'lora_a') return torchDefault(role); // PEFT: kaiming-uniform(a=√5) whatever the base
  switch (family) {
    case 'llama':
    case 'gpt2':
      return hfNormal(role);
    case 'dit':
      return dit(role, tag);
    case 'unet':
    case 'torch':
      return torchDefault(role);
  }
}

/** SplitMix32-style hash → uniform [0, 1); deterministic per (seed, name, index). */
function hashString(s: string): number {
  let h = 2166136261;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 16777619);
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Draws a parameter's initial values. The stream depends on (seed, path) only, so adding or
 * reordering layers never changes the values of the others.
 */
export function sampleInit(init: Init, count: number, seed: number, path: string): Float32Array {
  const out = new Float32Array(count);
  switch (init.dist) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'uniform': {
      const u = mulberry32(hashString(path) ^ Math.imul(seed, 0x9e3779b1));
      for (let k = 0; k < count; k++) out[k] = (2 * u() - 1) * init.bound;
      return out;
    }
    case 'normal': {
      const u = mulberry32(hashString(path) ^ Math.imul(seed, 0x9e3779b1));
      for (let k = 0; k < count; k += 2) {
        // Box–Muller: two independent normals per pair of uniforms; 1 − u avoids log(0).
        const r = Math.sqrt(-2 * Math.log(1 - u()));
        const th = 2 * Math.PI * u();
        out[k] = r * Math.cos(th) * init.std;
        if (k + 1 < count) out[k + 1] = r * Math.sin(th) * init.std;
      }
      return out;
    }
  }
}
