// Long jobs show the one progress line on stderr (runtime/train/progress.ts) once they pass the
// threshold — 2 s by default, 0 here through the Io so the line shows without waiting — and quick
// ones print nothing. `--json` keeps stderr free of it.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { LLAMA, PARENT } from '../jobs/inherit/helpers.ts';
import { tinySetup } from '../jobs/sample/tiny-denoiser.ts';
import { captureIo } from './capture-io.ts';

const MODEL = 'model M {\n  input x: f32[2, 4]\n  h = Linear(x, 4) as a\n  output y = Linear(h, 3) as b\n}\n';
const INHERIT = `${LLAMA('P', PARENT)}
model C = P(depth = 2, ffn = 8)
inherit C from P at "parent.safetensors" {
  layers = [0, 3]
  ffn = [1, 2, 3, 5, 8, 13, 21, 23]
}
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scion-progress-'));
  writeFileSync(join(dir, 'm.scion'), MODEL);
  writeFileSync(join(dir, 'inherit.scion'), INHERIT);
});

/** `afterMs`: the progress threshold; 'default' the commands' own (2 s). */
async function run(args: string[], afterMs: number | 'default'): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(dir);
  if (afterMs === 'default') delete io.progressAfterMs;
  else io.progressAfterMs = afterMs;
  const code = await main(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

/** The progress lines (not a TTY: whole lines), with the seconds and ETA taken out. */
const lines = (stderr: string, label: string): string[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith(`${label}: `))
    .map((l) => l.replace(/ {2}\d+(m\d+)?s( {2}ETA \d+(m\d+)?s)?/, ''));

describe('progress of init, export, inherit and sample', () => {
  it('init: the first tensor at once, then the last, with its name', async () => {
    const r = await run(['init', 'm.scion', '--model', 'M', '-o', 'm.safetensors'], 0);
    expect(r.code).toBe(0);
    // Not a TTY: the first line, then nothing for 5 s, then the final state from finish().
    expect(lines(r.stderr, 'init')).toEqual(['init: 1/4 tensors  a.weight', 'init: 4/4 tensors  b.bias']);
  });

  it('init under the default threshold (2 s) prints nothing on stderr', async () => {
    const r = await run(['init', 'm.scion', '--model', 'M', '-o', 'm2.safetensors'], 'default');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('export: one line per weight drawn, then the last; --json prints none', async () => {
    const r = await run(['export', 'm.scion', '--model', 'M', '--onnx', '-o', 'm.onnx'], 0);
    expect(r.code).toBe(0);
    expect(lines(r.stderr, 'export')).toEqual(['export: 1/4 tensors  a.weight', 'export: 4/4 tensors  b.bias']);
    const j = await run(['export', 'm.scion', '--model', 'M', '--onnx', '-o', 'm.onnx', '--json'], 0);
    expect(j.stderr).toBe('');
  });

  it('inherit: tensors written, ending at the last', async () => {
    expect((await run(['init', 'inherit.scion', '--model', 'P', '-o', 'parent.safetensors'], 0)).code).toBe(0);
    const r = await run(['inherit', 'inherit.scion', '--parent', 'parent.safetensors', '-o', 'child'], 0);
    expect(r.code).toBe(0);
    const shown = lines(r.stderr, 'inherit');
    expect(shown.length).toBeGreaterThanOrEqual(2);
    const total = Number(/\/(\d+) tensors/.exec(shown[0]!)![1]);
    expect(shown[0]).toMatch(/^inherit: 1\/\d+ tensors {2}\S+$/);
    expect(shown.at(-1)).toMatch(new RegExp(`^inherit: ${total}/${total} tensors  \\S+$`));
  });

  it('sample: sampler steps', async () => {
    const s = await tinySetup();
    const r = await run(['sample', s.spec, '--weights', s.weights, '--device', 'cpu', '-o', join(dir, 'grid.png')], 0);
    expect(r.code).toBe(0);
    const shown = lines(r.stderr, 'sample');
    expect(shown[0]).toMatch(/^sample: 1\/(\d+) steps$/);
    const steps = /\/(\d+)/.exec(shown[0]!)![1];
    expect(shown.at(-1)).toBe(`sample: ${steps}/${steps} steps`);
  });
});
