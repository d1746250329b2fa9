// Adapters in `scion inherit`: for each `adapter NAME on CHILD`, LoRA factors for every targeted
// Linear of the child — initialized from the child's (inherited) weight by lora.ts — written in
// Hugging Face PEFT's layout: `adapters/NAME/adapter_model.safetensors` with
// `base_model.model.<module>.lora_A.weight` [r, in] and `…lora_B.weight` [out, r], and an
// `adapter_config.json` (peft_type LORA, r, lora_alpha, target_modules, lora_dropout,
// init_lora_weights). With PiSSA the child's own weight becomes the residual W − (alpha/r)·B·A
// (what compiler/adapters expects of a PiSSA base), so base + adapter is the inherited model.
//
// Note: reads adapter declarations and sites through the compiler, like inherit-model.ts.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterDecl, Program } from '../../../grammar/ast.ts';
import { adapterSpec, applyAdapter, type AdapterSpec } from '../../../compiler/adapters/index.ts';
import type { LoweredModel } from '../../../compiler/lower/lower-model.ts';
import { checkpointPlan } from '../../../compiler/presets/index.ts';
import { fnv1a } from '../../../runtime/data/index.ts';
import { writeSafetensors, type SafetensorsReader, type TensorToWrite } from '../../../runtime/weights/index.ts';
import type { CheckpointTensorPlan } from '../write/checkpoint.ts';
import { InheritError } from '../layout/layout.ts';
import { initLora, type LoraInit } from './lora.ts';
import { materialize } from '../write/transfer.ts';

/** PEFT's key prefix for a LoRA-wrapped model's modules. */
export const PEFT_PREFIX = 'base_model.model.';

export interface AdapterTensors {
  readonly spec: AdapterSpec;
  /** PEFT key → [r, in] or [out, r] values. */
  readonly tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** Checkpoint modules adapted (Hugging Face names, without `.weight`). */
  readonly modules: string[];
  /** PiSSA: child checkpoint tensor → its residual values. */
  readonly residuals: Map<string, Float32Array>;
}

/** The adapter declarations on `model`, in source order. */
export function adaptersOn(programs: readonly Program[], model: string): AdapterDecl[] {
  return programs.flatMap((p) => p.decls.filter((d): d is AdapterDecl => d.kind === 'adapter' && d.on.name === model));
}

/** PEFT's init_lora_weights value for an init. */
export function peftInit(init: AdapterSpec['init']): boolean | string {
  switch (init.kind) {
    case 'zeros':
      return true;
    case 'gaussian':
      return 'gaussian';
    case 'pissa':
      return `pissa_niter_${init.niter}`;
  }
}

/**
 * Initializes one adapter's factors from the child's weights as the plan produces them (read from
 * the parent, so this runs before the child is written).
 */
export async function planAdapter(
  decl: AdapterDecl,
  child: LoweredModel,
  plans: readonly CheckpointTensorPlan[],
  reader: SafetensorsReader,
  seed: number,
): Promise<AdapterTensors> {
  const spec = adapterSpec(decl);
  const sites = applyAdapter(child, spec, { base: false }).sites;
  const entries = checkpointPlan(child);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const residuals = new Map<string, Float32Array>();
  const modules: string[] = [];
  const init: LoraInit = spec.init.kind === 'pissa' ? { kind: 'pissa', niter: spec.init.niter } : spec.init;
  for (const site of sites) {
    const entry = entries.find((e) => e.parts.some((p) => p.path === site.weight));
    if (entry === undefined || entry.parts.length !== 1 || entry.transpose || !entry.hf.endsWith('.weight')) {
      throw new InheritError([
        `adapter ${spec.name}: '${site.weight}' is stored fused or transposed in the checkpoint (${entry?.hf ?? 'nowhere'}); PEFT adapters need a plain [out, in] Linear weight`,
      ]);
    }
    const plan = plans.find((t) => t.name === entry.hf);
    if (plan === undefined) throw new Error(`bug: no plan for '${entry.hf}'`);
    const w = { shape: plan.shape, data: await materialize(plan, reader) };
    const lora = initLora(w, spec.rank, spec.alpha, init, (seed + fnv1a(site.module)) >>> 0);
    const module = entry.hf.slice(0, -'.weight'.length);
    modules.push(module);
    tensors.set(`${PEFT_PREFIX}${module}.lora_A.weight`, { shape: [...lora.a.shape], data: lora.a.data });
    tensors.set(`${PEFT_PREFIX}${module}.lora_B.weight`, { shape: [...lora.b.shape], data: lora.b.data });
    if (init.kind === 'pissa') residuals.set(entry.hf, lora.base.data);
  }
  return { spec, tensors, modules, residuals };
}

/**
 * PEFT's target_modules: the modules' last names when those select exactly the adapted modules
 * among the model's Linear weights, else an anchored regular expression of the full names.
 */
export function targetModules(adapted: readonly string[], allLinear: readonly string[]): string[] | string {
  const last = [...new Set(adapted.map((m) => m.split('.').at(-1)!))].sort();
  const picked = allLinear.filter((m) => last.includes(m.split('.').at(-1)!));
  if (picked.length === adapted.length && picked.every((m) => adapted.includes(m))) return last;
  return `^(?:${adapted.map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
}

/** Writes adapters/NAME/adapter_model.safetensors and adapter_config.json; returns the files. */
export async function writeAdapter(dir: string, a: AdapterTensors, child: LoweredModel): Promise<string[]> {
  const out = join(dir, 'adapters', a.spec.name);
  mkdirSync(out, { recursive: true });
  const model = join(out, 'adapter_model.safetensors');
  const tensors = new Map<string, TensorToWrite>([...a.tensors].map(([k, t]) => [k, { dtype: 'F32', shape: t.shape, data: t.data }]));
  await writeSafetensors(model, tensors, { format: 'pt' });
  const linear = checkpointPlan(child)
    .filter((e) => e.parts.length === 1 && e.shape.length === 2 && e.hf.endsWith('.weight'))
    .map((e) => e.hf.slice(0, -'.weight'.length));
  const config = {
    peft_type: 'LORA',
    task_type: null,
    base_model_name_or_path: null,
    r: a.spec.rank,
    lora_alpha: a.spec.alpha,
    lora_dropout: a.spec.dropout,
    target_modules: targetModules(a.modules, linear),
    init_lora_weights: peftInit(a.spec.init),
    bias: 'none',
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    inference_mode: false,
    modules_to_save: null,
  };
  const cfg = join(out, 'adapter_config.json');
  writeFileSync(cfg, `${JSON.stringify(config, null, 2)}\n`);
  return [model, cfg];
}
