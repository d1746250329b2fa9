// Starting weights of an adapter training job (`train Genre` with `adapter Genre on M`):
//   - M's weights from a checkpoint under M's preset names — `--init`, else the parent of
//     `inherit M from P at "…"`, else runs/M/model.safetensors. Tensors M has no parameter for
//     (the parent's lm_head) are ignored; M's parameters the checkpoint lacks must be ones the
//     inherit leaves out with `except` (they keep their seeded init and train);
//   - A and B per adapted Linear (jobs/inherit/adapters/lora.ts): PEFT's zeros/gaussian init, or PiSSA
//     from W's top singular triplets — then W is fed as the residual W − scale·B₀A₀ and the frozen
//     `…lora_{A,B}.init` copies hold B₀, A₀ so the base path (adapter off) is the pretrained W.
//   - when the checkpoint sits beside `adapters/<name>/adapter_model.safetensors` (the output of
//     `scion inherit -o DIR`), A and B are read from there and W is taken as already residual.
// Frozen tensors are fed by path every step; trainable ones go to the optimizer.

import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { AdaptedModel } from '../../compiler/adapters/index.ts';
import { sampleInit } from '../../compiler/layers/init.ts';
import type { LoweredModel } from '../../compiler/lower/lower-model.ts';
import { checkpointPlan, fromCheckpoint, MappingError, namingPreset, type PlanEntry } from '../../compiler/presets/index.ts';
import type { Tensor } from '../../runtime/cpu/tensor.ts';
import { fnv1a } from '../../runtime/data/index.ts';
import { PEFT_PREFIX } from '../inherit/adapters/adapter-out.ts';
import { initLora, type LoraInit } from '../inherit/adapters/lora.ts';
import { openSafetensors, type SafetensorsReader } from '../../runtime/weights/index.ts';
import { JobError } from './errors.ts';

export interface AdapterStart {
  /** Frozen parameters of the adapted graph: base weights (PiSSA: residuals) and init copies. */
  frozen: Map<string, Tensor>;
  /** Trainable: lora_A/B and the model's fresh (inherit-`except`) parameters. */
  initial: Map<string, Float32Array>;
  /** Checkpoint tensors no parameter of the model reads (reported, not an error). */
  ignored: string[];
  /** Where A and B came from: `pissa(niter=16) of the base`, or an adapter file. */
  adapterOrigin: string;
}

/** The adapted model's own parameters, as the un-adapted model M (for M's checkpoint plan). */
export function baseView(am: AdaptedModel): LoweredModel {
  const mine = new Set(am.adapterParams.map((p) => p.path));
  return { ...am, params: am.params.filter((p) => !mine.has(p.path)) };
}

/** The Hugging Face module of a site's weight (`model.layers.0.self_attn.q_proj`). */
export function siteModule(plan: readonly PlanEntry[], weight: string): string {
  const e = plan.find((x) => x.parts.some((p) => p.path === weight));
  if (e === undefined || e.parts.length !== 1 || e.transpose || !e.hf.endsWith('.weight')) {
    throw new JobError(`'${weight}' is stored fused or transposed (${e?.hf ?? 'nowhere'}); PEFT adapters need a plain [out, in] Linear weight`);
  }
  return e.hf.slice(0, -'.weight'.length);
}

async function readAll(reader: SafetensorsReader, name: string): Promise<Float32Array> {
  return Float32Array.from((await reader.read(name)) as ArrayLike<number>);
}

/**
 * Loads the base checkpoint at `path` into the adapted model and initializes the adapter.
 *
 * @example const s = await adapterStart(lowered.adapter.model, lowered.adapter.fresh, 'runs/parent/model.safetensors', 3);
 */
export async function adapterStart(am: AdaptedModel, fresh: readonly string[], path: string, seed: number, cwd = process.cwd()): Promise<AdapterStart> {
  const view = baseView(am);
  const plan = checkpointPlan(view);
  let reader: SafetensorsReader;
  try {
    reader = await openSafetensors(path);
  } catch (error) {
    throw new JobError(`the base weights of adapter ${am.adapter.name}: ${relative(cwd, path) || path}: ${(error as Error).message}`);
  }
  const loaded = new Map<string, Float32Array>();
  const ignored: string[] = [];
  try {
    const has = (n: string): boolean => reader.tensors.has(n);
    const freshSet = new Set(fresh);
    const present = plan.filter((e) => [e.hf, ...e.readFallbacks].some(has));
    const missing = plan.filter((e) => !present.includes(e) && e.parts.some((p) => !freshSet.has(p.path)));
    if (missing.length > 0) {
      throw new JobError(
        `${relative(cwd, path) || path} lacks ${missing.length} tensor(s) of '${am.instance.name}' (e.g. ${missing
          .slice(0, 3)
          .map((e) => e.hf)
          .join(', ')}); only parameters the inherit leaves out with \`except\` may be missing`,
      );
    }
    const used = new Set(present.flatMap((e) => [e.hf, ...e.readFallbacks]));
    for (const n of reader.tensors.keys()) if (!used.has(n)) ignored.push(n);
    try {
      const host = await fromCheckpoint(
        namingPreset(am.instance.preset),
        present,
        (n) => reader.tensors.get(n)?.shape,
        [...reader.tensors.keys()].filter((n) => used.has(n)),
        async (n) => ({ shape: reader.tensors.get(n)?.shape ?? [], data: await readAll(reader, n) }),
      );
      for (const [p, t] of host) loaded.set(p, t.data);
    } catch (error) {
      if (error instanceof MappingError) throw new JobError(`${relative(cwd, path) || path} does not fit '${am.instance.name}': ${error.message}`);
      throw error;
    }
  } finally {
    await reader.close();
  }

  const frozen = new Map<string, Tensor>();
  const initial = new Map<string, Float32Array>();
  for (const p of view.params) {
    const size = p.shape.reduce((a, d) => a * d, 1);
    const data = loaded.get(p.path) ?? sampleInit(p.init, size, seed, p.path);
    if (p.trainable) initial.set(p.path, data);
    else frozen.set(p.path, { dtype: 'f32', shape: p.shape, data });
  }
  const file = join(dirname(path), 'adapters', am.adapter.name, 'adapter_model.safetensors');
  const fromFile = existsSync(file);
  const factors = fromFile ? await readFactors(am, plan, file) : undefined;
  const spec = am.adapter;
  const init: LoraInit = spec.init.kind === 'pissa' ? { kind: 'pissa', niter: spec.init.niter } : spec.init;
  for (const site of am.sites) {
    const w = frozen.get(site.weight);
    if (w === undefined) throw new Error(`bug: adapterStart: no base weight '${site.weight}'`);
    // Same per-module seed as `scion inherit`, so both paths give the same factors.
    const lora =
      factors?.get(site.module) ?? initLora({ shape: w.shape, data: w.data as Float32Array }, spec.rank, spec.alpha, init, (seed + fnv1a(site.module)) >>> 0);
    initial.set(site.loraA, lora.a.data.slice());
    initial.set(site.loraB, lora.b.data.slice());
    if (site.initA !== undefined && site.initB !== undefined) {
      frozen.set(site.initA, { dtype: 'f32', shape: lora.a.shape, data: lora.a.data.slice() });
      frozen.set(site.initB, { dtype: 'f32', shape: lora.b.shape, data: lora.b.data.slice() });
      if (!fromFile) frozen.set(site.weight, { dtype: 'f32', shape: w.shape, data: lora.base.data });
    }
  }
  const origin = fromFile
    ? relative(cwd, file) || file
    : `${spec.init.kind === 'pissa' ? `pissa(niter=${spec.init.niter})` : spec.init.kind} of the base weights`;
  return { frozen, initial, ignored, adapterOrigin: origin };
}

type Factors = { a: { shape: number[]; data: Float32Array }; b: { shape: number[]; data: Float32Array }; base: { shape: number[]; data: Float32Array } };

/** A and B per site from a PEFT file written by `scion inherit` (rank r, this adapter's layout). */
async function readFactors(am: AdaptedModel, plan: readonly PlanEntry[], file: string): Promise<Map<string, Factors>> {
  const reader = await openSafetensors(file);
  try {
    const out = new Map<string, Factors>();
    for (const site of am.sites) {
      const hf = `${PEFT_PREFIX}${siteModule(plan, site.weight)}`;
      const get = async (k: 'A' | 'B', shape: number[]): Promise<{ shape: number[]; data: Float32Array }> => {
        const name = `${hf}.lora_${k}.weight`;
        const t = reader.tensors.get(name);
        if (t === undefined || t.shape.join() !== shape.join())
          throw new JobError(`${file}: '${name}' is ${t === undefined ? 'missing' : `[${t.shape.join(', ')}]`}, expected [${shape.join(', ')}]`);
        return { shape, data: await readAll(reader, name) };
      };
      const a = await get('A', [am.adapter.rank, site.inFeatures]);
      const b = await get('B', [site.outFeatures, am.adapter.rank]);
      out.set(site.module, { a, b, base: { shape: [], data: new Float32Array(0) } });
    }
    return out;
  } finally {
    await reader.close();
  }
}
