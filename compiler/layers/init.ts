// Initialization rules of each family, so `scion init` matches what the reference code would draw:
//   torch (default, and unet) — PyTorch module defaults: Linear/Conv weights kaiming-uniform(a=√5),
//     i.e. U(±1/√fan_in), biases U(±1/√fan_in), Embedding N(0, 1), norms ones/zeros;
//   llama, gpt2 — Hugging Face `_init_weights`: weights and embeddings N(0, 0.02), biases zero;
//   dit — DiT's `initialize_weights`: Linear xavier-uniform with zero bias, the patch conv
//     xavier-uniform over its [out, in·k·k] view, label table and timestep MLP N(0, 0.02), adaLN
//     modulations and the final linear zero; other convs (LiT's DWC) keep PyTorch's default.

import type { Preset } from '../../grammar/ast.ts';

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

const torchDefault = (role: Role): Init => {
  switch (role.kind) {
    case 'weight':
      return { dist: 'uniform', bound: 1 / Math.sqrt(role.fanIn), rule: 'kaiming_uniform(a=√5)' };
    case 'bias':
      return { dist: 'uniform', bound: 1 / Math.sqrt(role.fanIn), rule: 'uniform(±1/√fan_in)' };
    case 'embedding':
      return { dist: 'normal', std: 1, rule: 'normal(1)' };
    case 'norm_weight':
      return { dist: 'ones', rule: 'ones' };
    case 'norm_bias':
      return { dist: 'zeros', rule: 'zeros' };
  }
};

const hfNormal = (role: Role): Init => {
  switch (role.kind) {
    case 'weight':
    case 'embedding':
      return { dist: 'normal', std: 0.02, rule: 'normal(0.02)' };
    case 'bias':
    case 'norm_bias':
      return { dist: 'zeros', rule: 'zeros' };
    case 'norm_weight':
      return { dist: 'ones', rule: 'ones' };
  }
};

const xavier = (fanIn: number, fanOut: number): Init => ({ dist: 'uniform', bound: Math.sqrt(6 / (fanIn + fanOut)), rule: 'xavier_uniform' });

const dit = (role: Role, tag: InitTag | undefined): Init => {
  if (tag === 'adaln' || tag === 'final') return { dist: 'zeros', rule: 'zeros' };
  if (tag === 'timestep_mlp' && role.kind === 'weight') return { dist: 'normal', std: 0.02, rule: 'normal(0.02)' };
  switch (role.kind) {
    case 'weight':
      if (role.module === 'linear' || tag === 'patch') return xavier(role.fanIn, role.fanOut);
      return torchDefault(role);
    case 'bias':
      return role.module === 'linear' || tag === 'patch' ? { dist: 'zeros', rule: 'zeros' } : torchDefault(role);
    case 'embedding':
      return { dist: 'normal', std: 0.02, rule: 'normal(0.02)' };
    default:
      return torchDefault(role);
  }
};

export function familyOf(preset: Preset | undefined): Family {
  return preset ?? 'torch';
}

export function resolveInit(family: Family, role: Role, tag?: InitTag): Init {
  // LoRA's B starts at zero in every family, so an adapter begins as the identity change.
  if (tag === 'lora_b') return { dist: 'zeros', rule: 'zeros' };
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
