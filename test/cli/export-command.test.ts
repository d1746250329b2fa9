// `scion export FILE --model M --onnx [-o OUT] [--train] [--json]`: writes a file ONNX Runtime
// opens with the inputs and outputs named as Scion names them; usage and spec errors exit 2 and 1.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { captureIo } from './capture-io.ts';

const SPEC = join(import.meta.dirname, '..', '..', 'specs', 'default.scion');

describe('scion export --onnx', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scion-export-'));

  it('writes NAME.onnx by default, named as Scion names it', async () => {
    const io = captureIo(dir);
    expect(await main(['export', SPEC, '--model', 'TinyLlama', '--onnx', '--batch', '1'], io)).toBe(0);
    expect(io.stdout).toMatch(/^TinyLlama\.onnx: ONNX opset 17, TinyLlama, 1,774,720 parameters/);
    const s = await ort.InferenceSession.create(join(dir, 'TinyLlama.onnx'), { logSeverityLevel: 3 });
    expect([s.inputNames, s.outputNames]).toEqual([['tokens'], ['logits']]);
    await s.release();
  });

  it("--train writes the training step of the spec's train loss, its state in and out (--json)", async () => {
    const io = captureIo(dir);
    expect(await main(['export', SPEC, '--model', 'TinyLlama', '--onnx', '--train', '--batch', '2', '-o', 'step.onnx', '--json'], io)).toBe(0);
    const r = JSON.parse(io.stdout) as { out: string; inputs: string[]; outputs: string[]; loss: string };
    expect(r.out).toBe('step.onnx');
    expect(r.loss).toBe('spec');
    expect(r.inputs).not.toContain('labels'); // next(tokens): the labels are the tokens, shifted in the graph
    expect(r.inputs).toEqual(
      expect.arrayContaining(['tokens', 'lm_head.weight', 'adam.m:lm_head.weight', 'adam.v:lm_head.weight', 'adam.lr', 'adam.bc1', 'adam.bc2']),
    );
    expect(r.outputs).toEqual(expect.arrayContaining(['loss', 'new:lm_head.weight', 'new:adam.m:lm_head.weight', 'new:adam.v:lm_head.weight']));
  });

  it('--weights: a checkpoint (here `scion init --seed 7`) becomes the initializers, read through the preset', async () => {
    const io = captureIo(dir);
    expect(await main(['init', SPEC, '--model', 'TinyLlama', '--seed', '7', '-o', 'w7.safetensors'], io)).toBe(0);
    const logits = async (args: string[], out: string): Promise<Float32Array> => {
      expect(await main(['export', SPEC, '--model', 'TinyLlama', '--onnx', '--batch', '1', '-o', out, ...args], captureIo(dir))).toBe(0);
      const s = await ort.InferenceSession.create(join(dir, out), { logSeverityLevel: 3 });
      const tokens = new ort.Tensor(
        'int32',
        Int32Array.from({ length: 128 }, (_v, i) => (i * 31) % 4096),
        [1, 128],
      );
      const y = (await s.run({ tokens }))['logits']?.data as Float32Array;
      await s.release();
      return y;
    };
    const fromFile = await logits(['--weights', 'w7.safetensors'], 'file.onnx');
    const drawn7 = await logits(['--seed', '7'], 'seed7.onnx');
    const drawn0 = await logits([], 'seed0.onnx');
    expect([...fromFile]).toEqual([...drawn7]);
    expect([...fromFile]).not.toEqual([...drawn0]);
  });

  it('needs --onnx (exit 2) and names an unknown model (exit 1)', async () => {
    const io = captureIo(dir);
    expect(await main(['export', SPEC, '--model', 'TinyLlama'], io)).toBe(2);
    expect(io.stderr).toContain('--onnx');
    const io2 = captureIo(dir);
    expect(await main(['export', SPEC, '--model', 'Nope', '--onnx'], io2)).toBe(1);
    expect(io2.stderr).toContain('Nope');
  });
});
