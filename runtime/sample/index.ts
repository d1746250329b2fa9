// Public surface of runtime/sample: DDPM/DDIM samplers over denoisers, classifier-free guidance,
// A-SDM feature reuse (graph cut at a tap) and multi-model switching.

export type { Denoiser, DenoiserOutput, DiffusionSchedule, SamplerKind, SamplerPlan, VarianceMode } from './types.ts';
export { ddimStep, ddpmStep, modelLogVariance, predictX0 } from './steps.ts';
export { sampleLoop, type SampleLoopOptions } from './sampler.ts';
export { guided } from './guidance.ts';
export { feedsFor, graphDenoiser, readOutputs, type CountedDenoiser, type GraphModel } from './graph-denoiser.ts';
export { cacheInputName, cachedDenoiser, cutAtTap, isRefreshStep, type CachedDenoiser, type RefreshSchedule } from './reuse.ts';
export { pickArm, switching, type SwitchArm, type SwitchingDenoiser } from './switch.ts';
export { qSampleHost } from './q-sample.ts';
