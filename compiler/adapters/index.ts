// Public surface of compiler/adapters: LoRA (and PiSSA-ready) adapters inserted into lowered graphs.

export { adapterSpec, DEFAULT_ALPHA, findAdapter, type AdapterSpec, type LoraInit } from './adapter-spec.ts';
export { applyAdapter, BASE_PREFIX, type AdaptedModel, type AdapterSite, type AdaptOptions } from './insert-lora.ts';
export { lowerAdapted } from './lower-adapted.ts';
