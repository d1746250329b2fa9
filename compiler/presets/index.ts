// Naming presets: public entry points. A model's checkpoint names come from its `preset` (llama,
// gpt2, dit, unet); a model without one reads and writes its Scion paths unchanged.
//
// Example:
//   const plan = checkpointPlan(lowerModel(program, 'TinyLlama'));
//   plan[0]; // { hf: 'model.embed_tokens.weight', parts: [{ path: 'embed_tokens.weight', … }], … }

import type { Preset } from '../../grammar/ast.ts';
import type { LoweredModel } from '../lower/lower-model.ts';
import { IDENTITY_PRESET, NAMING_PRESETS } from './families.ts';
import { planMapping, type NamingPreset, type PlanEntry } from './mapping.ts';

export { fromCheckpoint, MappingError, planMapping, toCheckpoint, type HostTensor, type NamingPreset, type ParamShape, type PlanEntry } from './mapping.ts';
export { NAMING_PRESETS, IDENTITY_PRESET } from './families.ts';
export { readConfig, writeConfig, type JsonConfig } from './config.ts';

export function namingPreset(preset: Preset | undefined): NamingPreset {
  return preset === undefined ? IDENTITY_PRESET : NAMING_PRESETS[preset];
}

/** The checkpoint plan of a lowered model under its own preset. */
export function checkpointPlan(m: LoweredModel): PlanEntry[] {
  return planMapping(namingPreset(m.instance.preset), m.params);
}
