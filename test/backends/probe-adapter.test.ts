// `--device auto` looks at the WebGPU adapter in a child process (backends/webgpu/probe-adapter.ts)
// so Dawn's native stderr warnings never reach a user whose machine has no GPU. Checked: the
// child's answer is read as the in-process adapter check would read it, and a process that lets
// auto pick its backend on this machine (lavapipe at most, under CI) prints nothing from Dawn.

import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProbe } from '../../backends/webgpu/probe-adapter.ts';
import { NO_VULKAN } from '../../runtime/webgpu/device.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('the adapter probe', () => {
  it('reads a software adapter, a hardware adapter, none, and garbage', () => {
    const lavapipe = JSON.stringify({ vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15', description: 'llvmpipe: Mesa 25.0.7' });
    expect(parseProbe(lavapipe)).toEqual({
      adapter: { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15', description: 'llvmpipe: Mesa 25.0.7' },
      software: true,
    });
    const h100 = JSON.stringify({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100 80GB HBM3' });
    expect(parseProbe(h100)).toMatchObject({ software: false });
    expect(parseProbe(JSON.stringify({ none: true }))).toEqual({ reason: NO_VULKAN });
    expect(parseProbe('Segmentation fault')).toEqual({ reason: expect.stringMatching(/^looking for a WebGPU adapter printed no answer/) });
    expect(parseProbe('null')).toEqual({ reason: 'looking for a WebGPU adapter printed no answer' });
  });

  it('auto on this machine opens a backend without Dawn writing to stderr', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-probe-'));
    try {
      const script = join(dir, 'auto.mts');
      writeFileSync(
        script,
        [
          `import { selectBackend } from ${JSON.stringify(join(ROOT, 'backends/registry.ts'))};`,
          `import { parseGraph } from ${JSON.stringify(join(ROOT, 'compiler/ir/text.ts'))};`,
          'const g = parseGraph(\'%0: f32[2] = input {name="x"}\\n%1: f32[2] = relu %0\\noutput "y" = %1\\n\');',
          "const b = await selectBackend('auto', g, (line) => process.stdout.write(line + '\\n'));",
          "process.stdout.write('chose ' + b.name + '\\n');",
          'b.dispose();',
          'process.exit(0);',
        ].join('\n'),
      );
      const run = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/chose (webgpu|cpu|reference)\n$/);
      // Before the probe, lavapipe's enumeration printed two "Warning: maxDynamic… artificially
      // reduced" lines here; a hardware adapter, which auto opens in this process, prints none.
      expect(run.stderr).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
