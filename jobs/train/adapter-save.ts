// A trained adapter as Hugging Face PEFT files in the run folder: adapter_model.safetensors with
// `base_model.model.<module>.lora_{A,B}.weight` and the fresh (inherit-`except`) parameters as
// PEFT's modules_to_save (`base_model.model.score.weight`), and adapter_config.json.
//
// The files apply to the ORIGINAL base weights (the parent checkpoint), as PEFT's own PiSSA
// conversion does: a PiSSA run trains on the residual W_res = W − s·B₀A₀, so its change to W is
// s·(B·A − B₀·A₀), written as one rank-2r LoRA A' = [A; A₀], B' = [B, −B₀] with lora_alpha
// doubled to keep s = alpha / r. Zeros/gaussian adapters are written as trained (rank r).

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdaptedModel } from '../../compiler/adapters/index.ts';
import { checkpointPlan } from '../../compiler/presets/index.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { PEFT_PREFIX, targetModules } from '../inherit/adapters/adapter-out.ts';
import { writeSafetensors, type TensorToWrite } from '../../runtime/weights/index.ts';
import { baseView, siteModule } from './adapter-weights.ts';
import { JobError } from './errors.ts';

export interface PeftFiles {
  model: string;
  config: string;
  /** Rank and alpha as written (2r, 2·alpha after a PiSSA conversion). */
  rank: number;
  alpha: number;
}

/** [r1, n] over [r2, n] → [r1 + r2, n]. */
function stackRows(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** [m, r1] beside −[m, r2] → [m, r1 + r2]. */
function sideBySideNegated(a: Float32Array, b: Float32Array, m: number): Float32Array {
  const r1 = a.length / m;
  const r2 = b.length / m;
  const out = new Float32Array(m * (r1 + r2));
  for (let i = 0; i < m; i++) {
    out.set(a.subarray(i * r1, (i + 1) * r1), i * (r1 + r2));
    for (let k = 0; k < r2; k++) out[i * (r1 + r2) + r1 + k] = -(b[i * r2 + k] as number);
  }
  return out;
}

/**
 * Writes `dir/adapter_model.safetensors` and `dir/adapter_config.json`.
 *
 * @example await writePeftAdapter(outDir, lowered.adapter.model, lowered.adapter.fresh, params, frozen);
 */
export async function writePeftAdapter(
  dir: string,
  am: AdaptedModel,
  fresh: readonly string[],
  params: ReadonlyMap<string, Float32Array>,
  frozen: ReadonlyMap<string, Tensor>,
): Promise<PeftFiles> {
  const plan = checkpointPlan(baseView(am));
  const tensors = new Map<string, TensorToWrite>();
  const modules: string[] = [];
  const pissa = am.adapter.init.kind === 'pissa';
  const value = (path: string): Float32Array => {
    const v = params.get(path) ?? (frozen.get(path)?.data as Float32Array | undefined);
    if (v === undefined) throw new Error(`bug: writePeftAdapter: no value for '${path}'`);
    return v;
  };
  const r = am.adapter.rank;
  for (const site of am.sites) {
    const module = siteModule(plan, site.weight);
    modules.push(module);
    let a = value(site.loraA); // [r, in]
    let b = value(site.loraB); // [out, r]
    if (pissa && site.initA !== undefined && site.initB !== undefined) {
      a = stackRows(a, value(site.initA)); // [2r, in]
      b = sideBySideNegated(b, value(site.initB), site.outFeatures); // [out, 2r]
    }
    const rank = a.length / site.inFeatures;
    tensors.set(`${PEFT_PREFIX}${module}.lora_A.weight`, { dtype: 'F32', shape: [rank, site.inFeatures], data: a });
    tensors.set(`${PEFT_PREFIX}${module}.lora_B.weight`, { dtype: 'F32', shape: [site.outFeatures, rank], data: b });
  }
  const saved = new Set<string>();
  for (const path of fresh) {
    const e = plan.find((x) => x.parts.some((p) => p.path === path));
    if (e === undefined || e.parts.length !== 1 || e.transpose)
      throw new JobError(`'${path}' is stored fused or transposed (${e?.hf ?? 'nowhere'}); PEFT's modules_to_save needs it whole`);
    tensors.set(`${PEFT_PREFIX}${e.hf}`, { dtype: 'F32', shape: [...e.shape], data: value(path) });
    saved.add(
      e.hf
        .replace(/\.(weight|bias)$/, '')
        .split('.')
        .at(-1) as string,
    );
  }
  const model = join(dir, 'adapter_model.safetensors');
  await writeSafetensors(model, tensors, { format: 'pt' });
  const linear = plan.filter((e) => e.parts.length === 1 && e.shape.length === 2 && e.hf.endsWith('.weight')).map((e) => e.hf.slice(0, -'.weight'.length));
  const rank = pissa ? 2 * r : r;
  const alpha = pissa ? 2 * am.adapter.alpha : am.adapter.alpha;
  const config = {
    peft_type: 'LORA',
    task_type: null,
    base_model_name_or_path: null,
    r: rank,
    lora_alpha: alpha,
    lora_dropout: am.adapter.dropout,
    target_modules: targetModules(modules, linear),
    // A converted PiSSA adapter is an ordinary LoRA on the original weights.
    init_lora_weights: am.adapter.init.kind === 'gaussian' ? 'gaussian' : true,
    bias: 'none',
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    inference_mode: true,
    modules_to_save: saved.size === 0 ? null : [...saved].sort(),
  };
  const cfg = join(dir, 'adapter_config.json');
  await writeFile(cfg, `${JSON.stringify(config, null, 2)}\n`);
  return { model, config: cfg, rank, alpha };
}
