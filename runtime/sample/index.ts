// Public surface of runtime/sample: DDPM/DDIM samplers over denoisers (graphs on the CPU reference
// or any GraphRunner), classifier-free guidance, A-SDM feature reuse (graph cut at a tap) and
// multi-model switching.

export type { Denoiser, DenoiserOutput, DiffusionSchedule, GraphRunner, SamplerKind, SamplerPlan, VarianceMode } from './types.ts';
export { ddimStep, ddpmStep, modelLogVariance, predictX0 } from './steps.ts';
export { sampleLoop, type SampleLoopOptions } from './sampler.ts';
export { guided } from './guidance.ts';
export { cpuRunner, feedsFor, graphDenoiser, readOutputs, type CountedDenoiser, type GraphModel } from './graph-denoiser.ts';
export { cacheInputName, cachedDenoiser, cutAtTap, isRefreshStep, type CachedDenoiser, type RefreshSchedule } from './reuse.ts';
export { pickArm, switching, type SwitchArm, type SwitchingDenoiser } from './switch.ts';
export { qSampleHost } from './q-sample.ts';
