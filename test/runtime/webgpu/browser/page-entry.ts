// The page's script, bundled by esbuild for the browser at test time: the runtime's browser path
// (device.ts's navigator.gpu branch, the executor) and nothing else. The test drives it through
// `globalThis.scion`.

import { acquireDevice, type AdapterDescription } from '../../../../runtime/webgpu/device.ts';
import { runFromUrl } from '../../../../runtime/webgpu/browser/run-request.ts';

export interface PageApi {
  runFromUrl: typeof runFromUrl;
  /** The adapter acquireDevice finds in this page, or why there is none. */
  probe(): Promise<{ adapter: AdapterDescription } | { reason: string }>;
}

const api: PageApi = {
  runFromUrl,
  async probe() {
    const gpu = await acquireDevice();
    if (gpu.device === null) return { reason: gpu.reason };
    gpu.destroy();
    return { adapter: gpu.adapterInfo };
  },
};

(globalThis as { scion?: PageApi }).scion = api;
