// One way to get a WebGPU device in Node (Dawn, through the `webgpu` package) and in browsers
// (`navigator.gpu`). Everything else in runtime/webgpu/ takes the GpuDevice this returns.

/// <reference types="@webgpu/types" />

import { DeviceLostError, GpuError } from './errors.ts';
import type { PollOptions } from './poll.ts';

// Node-only modules are imported by a computed name, so that bundlers (esbuild, Vite) leave them
// out of a page's bundle: Dawn is a native addon, and poll.ts wraps Node's setImmediate. A page
// never reaches these imports (it takes navigator.gpu); test/runtime/webgpu/browser/ checks the bundle.
const NODE_ONLY = { dawn: 'webgpu', poll: './poll.ts' } as const;

export interface AcquireOptions {
  /** Use this GPU object instead of finding one (tests; or a page's own `navigator.gpu`). */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** 'compatibility' lets Dawn run on OpenGL ES (old Mesa); default 'core'. */
  featureLevel?: 'core' | 'compatibility';
  /** Features the caller cannot run without: an adapter lacking one gives NoDevice. */
  requiredFeatures?: readonly GPUFeatureName[];
  /**
   * Features requested only where the adapter has them (e.g. 'timestamp-query'), on top of
   * SHADER_FEATURES, which are always requested where offered.
   */
  optionalFeatures?: readonly GPUFeatureName[];
  /** 'adapter' (default) asks for the adapter's maxima of the compute limits; 'default' for spec defaults. */
  limits?: 'adapter' | 'default';
  /** Node only: yielding polling (default on, DEFAULT_POLL), or false for Dawn's busy polling. */
  poll?: PollOptions | false;
  /** Node only: Dawn toggles passed to `create()`, e.g. ['enable-dawn-features=...']. */
  dawnFlags?: readonly string[];
  /** Called once if the device is lost while in use (not on destroy()). */
  onLost?: (error: DeviceLostError) => void;
}

/** What the adapter says it is; `key` identifies it for caches (autotuning). */
export interface AdapterDescription {
  platform: 'node' | 'browser';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  key: string;
}

/**
 * Whether the adapter is a CPU emulation of a GPU (Mesa's llvmpipe/lavapipe, SwiftShader). On such
 * an adapter even the CPU reference backend is as fast as WebGPU (measured: research/baselines.md and
 * bench/), so `--device auto` prefers the CPU there.
 */
export function isSoftwareAdapter(info: AdapterDescription): boolean {
  return /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

export interface GpuDevice {
  device: GPUDevice;
  /** The GPU object the adapter came from (Dawn's `create()` result, or navigator.gpu). */
  gpu: GPU;
  adapterInfo: AdapterDescription;
  /** The features the device was opened with: pass them as compileGraph's `features`. */
  features: ReadonlySet<string>;
  /** The adapter's subgroup sizes, where it reports them (lavapipe: 8 and 8). */
  subgroupSizes?: { min: number; max: number };
  limits: Readonly<Record<string, number>>;
  /** Throws the DeviceLostError (or first uncaptured GpuError) if the device is no longer usable. */
  assertAlive(): void;
  /** Releases the device (and the yielding poll); afterwards Node can exit by itself. Idempotent. */
  destroy(): void;
}

/** No device could be had; `reason` says why in words a user can act on. */
export interface NoDevice {
  device: null;
  reason: string;
}

/** The limits worth raising to the adapter's maxima for compute work. */
const COMPUTE_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/**
 * Shader features the compiler can use (compileGraph `features`: subgroup reductions, f16
 * weights), requested wherever the adapter offers them: enabling one costs nothing for shaders
 * that do not `enable` it.
 */
export const SHADER_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups'];

export const NO_VULKAN =
  'Dawn found no WebGPU adapter: no usable Vulkan driver. Without a GPU, install Mesa >= 25 ' +
  "(lavapipe; Debian: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1). Dawn's " +
  'Vulkan backend refuses older Mesa; there, featureLevel "compatibility" with EGL_PLATFORM=surfaceless ' +
  'runs on OpenGL ES.';

/**
 * Dawn aborts the process if the object `create()` returned is garbage-collected while a device
 * made from it is in use (research/baselines.md, lesson 6), so every live one is held here until
 * its device is destroyed.
 */
const LIVE_GPU_OBJECTS = new Set<GPU>();

interface FoundGpu {
  gpu: GPU;
  platform: 'node' | 'browser';
}

async function findGpu(opts: AcquireOptions): Promise<FoundGpu | NoDevice> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (opts.gpu !== undefined) return { gpu: opts.gpu, platform: typeof process === 'undefined' ? 'browser' : 'node' };
  if (typeof process === 'undefined' || process.versions?.node === undefined) {
    if (nav?.gpu === undefined)
      return { device: null, reason: 'this browser has no WebGPU (navigator.gpu is undefined); try a recent Chrome/Edge, or enable WebGPU' };
    return { gpu: nav.gpu, platform: 'browser' };
  }
  let create: (flags: string[]) => GPU;
  try {
    ({ create } = (await import(/* @vite-ignore */ NODE_ONLY.dawn)) as typeof import('webgpu'));
  } catch (error) {
    return { device: null, reason: `the 'webgpu' package (Dawn for Node) could not be loaded: ${(error as Error).message}` };
  }
  try {
    return { gpu: create([...(opts.dawnFlags ?? [])]), platform: 'node' };
  } catch (error) {
    return { device: null, reason: `Dawn could not start: ${(error as Error).message}` };
  }
}

/** Node only: poll.ts's yielding poll for Dawn; returns its uninstall. */
async function installNodePoll(options: PollOptions | undefined): Promise<() => void> {
  const { DEFAULT_POLL, installYieldingPoll } = (await import(/* @vite-ignore */ NODE_ONLY.poll)) as typeof import('./poll.ts');
  return installYieldingPoll(options ?? DEFAULT_POLL);
}

function describe(info: GPUAdapterInfo, platform: 'node' | 'browser'): AdapterDescription {
  const { vendor, architecture, device, description } = info;
  return { platform, vendor, architecture, device, description, key: `${platform}:${vendor}/${architecture}/${device}/${description}` };
}

/**
 * Finds an adapter and opens a device on it, or says why it cannot.
 *
 * @example
 *   const gpu = await acquireDevice();
 *   if (gpu.device === null) { console.error(`no WebGPU: ${gpu.reason}`); return; }
 *   try { ... gpu.device.createBuffer(...) ... } finally { gpu.destroy(); }
 */
export async function acquireDevice(opts: AcquireOptions = {}): Promise<GpuDevice | NoDevice> {
  const found = await findGpu(opts);
  if ('reason' in found) return found;
  const { gpu, platform } = found;
  LIVE_GPU_OBJECTS.add(gpu);
  const uninstallPoll = platform === 'node' && opts.poll !== false ? await installNodePoll(opts.poll) : () => {};
  const release = (): void => {
    uninstallPoll();
    LIVE_GPU_OBJECTS.delete(gpu);
  };
  try {
    const adapter = await gpu.requestAdapter({
      ...(opts.powerPreference === undefined ? {} : { powerPreference: opts.powerPreference }),
      ...(opts.featureLevel === undefined ? {} : { featureLevel: opts.featureLevel }),
    });
    if (adapter === null) {
      release();
      return { device: null, reason: platform === 'node' ? NO_VULKAN : 'the browser offers no WebGPU adapter (blocklisted GPU, or WebGPU disabled)' };
    }
    const missing = (opts.requiredFeatures ?? []).filter((f) => !adapter.features.has(f));
    if (missing.length > 0) {
      release();
      return { device: null, reason: `the adapter lacks required feature(s): ${missing.join(', ')}` };
    }
    const wanted = [...(opts.requiredFeatures ?? []), ...(opts.optionalFeatures ?? []), ...SHADER_FEATURES];
    const features = [...new Set(wanted)].filter((f) => adapter.features.has(f));
    const requiredLimits: Record<string, number> = {};
    if ((opts.limits ?? 'adapter') === 'adapter') {
      for (const name of COMPUTE_LIMITS) requiredLimits[name] = adapter.limits[name];
    }
    const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
    const wrapped = wrapDevice(gpu, device, describe(adapter.info, platform), opts, release);
    // Browsers without the subgroups feature may leave these undefined.
    const { subgroupMinSize: min, subgroupMaxSize: max } = adapter.info as Partial<Pick<GPUAdapterInfo, 'subgroupMinSize' | 'subgroupMaxSize'>>;
    return typeof min === 'number' && typeof max === 'number' && min > 0 ? { ...wrapped, subgroupSizes: { min, max } } : wrapped;
  } catch (error) {
    release();
    return { device: null, reason: `requesting a WebGPU device failed: ${(error as Error).message}` };
  }
}

function wrapDevice(gpu: GPU, device: GPUDevice, adapterInfo: AdapterDescription, opts: AcquireOptions, release: () => void): GpuDevice {
  let destroyed = false;
  let failure: Error | null = null;
  void device.lost.then((info) => {
    if (destroyed) return;
    const error = new DeviceLostError(info.reason ?? 'unknown', info.message);
    failure ??= error;
    release();
    opts.onLost?.(error);
  });
  device.onuncapturederror = (event: GPUUncapturedErrorEvent) => {
    failure ??= new GpuError('uncaptured', 'uncaptured', event.error.message);
  };
  const limits: Record<string, number> = {};
  for (const name of COMPUTE_LIMITS) limits[name] = device.limits[name];
  return {
    device,
    gpu,
    adapterInfo,
    features: new Set(device.features),
    limits,
    assertAlive() {
      if (failure !== null) throw failure;
      if (destroyed) throw new Error('GpuDevice used after destroy()');
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      device.destroy();
      // Hold the GPU object (and the poll) until Dawn has finished tearing the device down.
      void device.lost.then(release, release);
    },
  };
}
