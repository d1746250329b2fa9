// What `--device auto` asks before it opens WebGPU in this process: is there an adapter, and is it
// a real GPU? Dawn prints warnings to stderr from native code while it enumerates adapters (on
// Mesa's lavapipe: "maxDynamic… artificially reduced …", twice per enumeration), which no option
// silences. A user on a machine without a GPU would see them before every `scion train`, for a
// backend `auto` then declines. So the first look happens in a child process whose stderr is
// dropped; only a hardware adapter is then opened here. Once per process.

import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { type AdapterDescription, isSoftwareAdapter, NO_VULKAN } from '../../runtime/webgpu/device.ts';

/** What the child saw: the adapter's words, or why there is none. */
export type AdapterProbe = { adapter: Omit<AdapterDescription, 'platform' | 'key'>; software: boolean } | { reason: string };

/** The child: import Dawn by absolute URL (the user's folder need not hold node_modules), print one JSON line. */
function childScript(dawnUrl: string): string {
  return [
    `const { create } = await import(${JSON.stringify(dawnUrl)});`,
    'const gpu = create([]);',
    'const a = await gpu.requestAdapter();',
    'if (a === null) { process.stdout.write(JSON.stringify({ none: true })); process.exit(0); }',
    'const { vendor, architecture, device, description } = a.info;',
    'process.stdout.write(JSON.stringify({ vendor, architecture, device, description }));',
    'process.exit(0);',
  ].join('\n');
}

/** Longest wait for the child; a probe that hangs (a broken driver) says so instead of stalling auto. */
const PROBE_TIMEOUT_MS = 30_000;

let probed: Promise<AdapterProbe> | undefined;

/** The adapter Dawn would give this process, looked at in a child process (cached per process). */
export function probeAdapter(): Promise<AdapterProbe> {
  probed ??= runProbe();
  return probed;
}

function runProbe(): Promise<AdapterProbe> {
  let dawnUrl: string;
  try {
    dawnUrl = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  } catch (error) {
    return Promise.resolve({ reason: `the webgpu package (Dawn) is not installed: ${(error as Error).message}` });
  }
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', childScript(dawnUrl)], { timeout: PROBE_TIMEOUT_MS, windowsHide: true }, (error, stdout) => {
      if (error !== null) {
        const how = error.killed ? `did not answer in ${PROBE_TIMEOUT_MS / 1000} s` : `failed (${error.message.split('\n')[0]})`;
        resolve({ reason: `looking for a WebGPU adapter ${how}` });
        return;
      }
      resolve(parseProbe(stdout));
    });
  });
}

/** The child's one line, read; exported for the test. */
export function parseProbe(stdout: string): AdapterProbe {
  let seen: unknown;
  try {
    seen = JSON.parse(stdout);
  } catch {
    return { reason: `looking for a WebGPU adapter printed no answer (${JSON.stringify(stdout.slice(0, 80))})` };
  }
  if (typeof seen !== 'object' || seen === null) return { reason: 'looking for a WebGPU adapter printed no answer' };
  const o = seen as Record<string, unknown>;
  if (o['none'] === true) return { reason: NO_VULKAN };
  const word = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
  const adapter = { vendor: word('vendor'), architecture: word('architecture'), device: word('device'), description: word('description') };
  return { adapter, software: isSoftwareAdapter({ ...adapter, platform: 'node', key: '' }) };
}
