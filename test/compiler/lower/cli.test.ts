// `scion explain`, `scion init` and `scion eval` end to end, through real files.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import type { Io } from '../../../cli/io.ts';
import { openSafetensors, writeSafetensors } from '../../../runtime/weights/index.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { parseSpec, SPECS, maxRelErr } from './helpers.ts';

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    isTty: false,
    cwd: join(SPECS, '..'),
    out: (t: string) => void (io.stdout += t),
    err: (t: string) => void (io.stderr += t),
  };
  return io;
}

describe('scion explain', () => {
  it('--json lists every model with params, inputs and layers', async () => {
    const io = capture();
    expect(await main(['explain', 'specs/default.scion', '--batch', '4', '--json'], io)).toBe(0);
    const j = JSON.parse(io.stdout) as {
      models: {
        name: string;
        preset: string;
        params: number;
        trainableParams: number;
        flops: number;
        inputs: { name: string; dtype: string; shape: number[] }[];
        layers: { path: string; shape: number[]; params: number; flops: number }[];
      }[];
    };
    const m = j.models[0];
    expect(m?.name).toBe('TinyLlama');
    expect(m?.preset).toBe('llama');
    expect(m?.params).toBe(1774720); // 2·4096·128 + 4·(2·128 + 2·128·128 + 2·128·64 + 3·128·344) + 128
    expect(m?.inputs).toEqual([{ name: 'tokens', dtype: 'i32', shape: [4, 128] }]);
    expect(m?.layers.find((l) => l.path === 'lm_head')).toMatchObject({ shape: [4, 128, 4096], params: 4096 * 128, flops: 2 * 4 * 128 * 128 * 4096 });
  });

  it('prints a table with totals and reports a missing model as an input error', async () => {
    const io = capture();
    expect(await main(['explain', 'specs/default.scion'], io)).toBe(0);
    expect(io.stdout).toContain('layers.1.mlp.down_proj.weight');
    expect(io.stdout).toContain('parameters: 1,774,720');
    expect(io.stdout).toContain('embeddings and vocab-sized heads: 1,048,576 (59.1% of parameters)');
    const bad = capture();
    expect(await main(['explain', 'specs/default.scion', '--model', 'TinyLlam'], bad)).toBe(1);
    expect(bad.stderr).toContain("no model named 'TinyLlam'");
    expect(bad.stderr).toContain("did you mean 'TinyLlama'?");
    expect(await main(['explain'], capture())).toBe(2);
  });
});

describe('scion init and scion eval', () => {
  it('initializes with HF names, then evaluates outputs and taps equal to a direct CPU run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scion-init-'));
    const w = join(dir, 'model.safetensors');
    const io = capture();
    expect(await main(['init', 'specs/default.scion', '--model', 'TinyLlama', '--seed', '3', '-o', w], io)).toBe(0);
    expect(existsSync(join(dir, 'config.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({ model_type: 'llama', hidden_size: 128, num_key_value_heads: 2 });
    const ckpt = await openSafetensors(w);
    expect(ckpt.tensors.get('model.layers.0.self_attn.k_proj.weight')?.shape).toEqual([64, 128]);
    const norm = (await ckpt.read('model.norm.weight')) as Float32Array;
    expect(Array.from(norm).every((v) => v === 1)).toBe(true);
    const q = (await ckpt.read('model.layers.1.self_attn.q_proj.weight')) as Float32Array;
    const std = Math.sqrt(q.reduce((s, v) => s + v * v, 0) / q.length);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022); // llama family: normal(0.02)

    const tokens = Int32Array.from({ length: 2 * 128 }, (_, k) => (k * 37) % 4096);
    const input = join(dir, 'in.safetensors');
    await writeSafetensors(input, { tokens: { dtype: 'I32', shape: [2, 128], data: tokens } });
    const out = join(dir, 'out.safetensors');
    const evalIo = capture();
    expect(
      await main(
        ['eval', 'specs/default.scion', '--model', 'TinyLlama', '--weights', w, '--input', input, '-o', out, '--tap', 'layers.0.mlp', '--tap', 'h'],
        evalIo,
      ),
    ).toBe(0);
    const res = await openSafetensors(out);
    expect(res.tensors.get('logits')?.shape).toEqual([2, 128, 4096]);
    expect(res.tensors.get('tap:layers.0.mlp')?.shape).toEqual([2, 128, 128]);
    expect(res.tensors.get('tap:h')?.shape).toEqual([2, 128, 128]);

    const m = lowerModel(parseSpec('default.scion'), 'TinyLlama', { dims: { batch: 2 } });
    const feed = new Map<string, { dtype: 'f32' | 'i32'; shape: readonly number[]; data: Float32Array | Int32Array }>([
      ['tokens', { dtype: 'i32', shape: [2, 128], data: tokens }],
    ]);
    for (const p of m.params) {
      const hf = p.path === 'lm_head.weight' ? p.path : `model.${p.path}`;
      feed.set(p.path, { dtype: 'f32', shape: p.shape, data: (await ckpt.read(hf)) as Float32Array });
    }
    const direct = runGraph(m.graph, feed, { dtype: 'f32' }).get('logits');
    expect(maxRelErr((await res.read('logits')) as Float32Array, direct?.data ?? [])).toBe(0);
    await res.close();
    await ckpt.close();

    const bad = capture();
    expect(await main(['eval', 'specs/default.scion', '--model', 'TinyLlama', '--weights', w, '--input', input, '-o', out, '--tap', 'nope'], bad)).toBe(1);
    expect(bad.stderr).toContain("no tap 'nope'");
  });
});
