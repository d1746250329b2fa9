// One call from a spec to the adapted graph: find the adapter, lower the model it adapts, insert
// the LoRA paths (insert-lora.ts).

import type { Program } from '../../grammar/ast.ts';
import { lowerModel, type LowerOptions } from '../lower/lower-model.ts';
import { adapterSpec, findAdapter } from './adapter-spec.ts';
import { applyAdapter, type AdaptedModel, type AdaptOptions } from './insert-lora.ts';

/**
 * Lowers `adapter <name> on M { … }`: M's forward with LoRA beside every targeted Linear, plus
 * M's own forward (adapter off) as outputs `base.<name>`.
 *
 * @example
 * const am = lowerAdapted(programs, 'Genre', { dims: { batch: 16 }, train: true });
 * am.adapterParams.map((p) => p.path) // ['layers.0.self_attn.q_proj.lora_A.weight', …]
 */
export function lowerAdapted(programs: Program | readonly Program[], name: string, opts: LowerOptions & AdaptOptions = {}): AdaptedModel {
  const spec = adapterSpec(findAdapter(programs, name));
  const { train, dropoutKey, base, ...lower } = opts;
  const adapt: AdaptOptions = {
    ...(train === undefined ? {} : { train }),
    ...(dropoutKey === undefined ? {} : { dropoutKey }),
    ...(base === undefined ? {} : { base }),
  };
  return applyAdapter(lowerModel(programs, spec.on, lower), spec, adapt);
}
