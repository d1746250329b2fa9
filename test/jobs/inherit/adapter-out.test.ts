// Adapters written by `scion inherit`: PEFT tensor names and shapes, adapter_config.json, PiSSA's
// residual base (base + scale·B·A gives back the inherited weight, and B·A comes from singular
// vectors: AAᵀ and BᵀB diagonal), and the zeros init leaving the child's weights untouched.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors } from '../../../runtime/weights/index.ts';
import { targetModules } from '../../../jobs/inherit/adapters/adapter-out.ts';
import { LLAMA, PARENT, inheritFrom } from './helpers.ts';

const spec = (init: string) => `${LLAMA('P', PARENT)}
model C = P(depth = 2)
inherit C from P at "parent.safetensors" { layers = [0, 3] }
adapter G on C { targets = ["layers.*.self_attn.q_proj", "layers.*.self_attn.v_proj"], rank = 2, alpha = 4, init = ${init}, dropout = 0.1 }
`;

async function adapterFile(dir: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const r = await openSafetensors(join(dir, 'child/adapters/G/adapter_model.safetensors'));
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of r.tensors) out.set(k, { shape: [...t.shape], data: (await r.read(k)) as Float32Array });
  await r.close();
  return out;
}

describe('adapters in scion inherit', () => {
  it('PiSSA: PEFT names and config; residual + 2·B·A equals the inherited weight; factors from singular vectors', async () => {
    const r = await inheritFrom(spec('pissa(niter = 8)'));
    const a = await adapterFile(r.dir);
    const keys = [0, 1].flatMap((l) =>
      ['q_proj', 'v_proj'].flatMap((p) => ['A', 'B'].map((f) => `base_model.model.model.layers.${l}.self_attn.${p}.lora_${f}.weight`)),
    );
    expect([...a.keys()].sort()).toEqual(keys.sort());
    expect(a.get('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight')!.shape).toEqual([2, 16]);
    expect(a.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')!.shape).toEqual([8, 2]); // 2 kv heads × 4
    const cfg = JSON.parse(readFileSync(join(r.dir, 'child/adapters/G/adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      peft_type: 'LORA',
      r: 2,
      lora_alpha: 4,
      lora_dropout: 0.1,
      target_modules: ['q_proj', 'v_proj'],
      init_lora_weights: 'pissa_niter_8',
    });

    const A = a.get('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight')!.data; // [2, 16]
    const B = a.get('base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight')!.data; // [16, 2]
    const res = r.childW.get('layers.1.self_attn.q_proj.weight')!.data;
    const orig = r.parentW.get('layers.3.self_attn.q_proj.weight')!.data; // child layer 1 ← parent layer 3
    for (let i = 0; i < 16; i++)
      for (let j = 0; j < 16; j++) {
        const ba = B[i * 2]! * A[j]! + B[i * 2 + 1]! * A[16 + j]!;
        expect(res[i * 16 + j]! + 2 * ba).toBeCloseTo(orig[i * 16 + j]!, 5);
      }
    const dot = (x: (k: number) => number, y: (k: number) => number, n: number) => Array.from({ length: n }, (_, k) => x(k) * y(k)).reduce((p, q) => p + q, 0);
    expect(
      Math.abs(
        dot(
          (k) => A[k]!,
          (k) => A[16 + k]!,
          16,
        ),
      ),
    ).toBeLessThan(1e-4);
    expect(
      Math.abs(
        dot(
          (k) => B[k * 2]!,
          (k) => B[k * 2 + 1]!,
          16,
        ),
      ),
    ).toBeLessThan(1e-4);
    // Singular values in order: the first pair carries more energy.
    expect(
      dot(
        (k) => A[k]!,
        (k) => A[k]!,
        16,
      ),
    ).toBeGreaterThan(
      dot(
        (k) => A[16 + k]!,
        (k) => A[16 + k]!,
        16,
      ),
    );
    expect(r.out.provenance.tensors['model.layers.1.self_attn.q_proj.weight']!.residualOf).toEqual({ adapter: 'G', scale: 2 });
  });

  it('zeros: B = 0, A kaiming-uniform, and the child keeps the inherited weights', async () => {
    const r = await inheritFrom(spec('zeros'));
    const a = await adapterFile(r.dir);
    const A = a.get('base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight')!.data;
    expect(a.get('base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight')!.data.every((v) => v === 0)).toBe(true);
    expect(A.every((v) => Math.abs(v) <= 1 / Math.sqrt(16))).toBe(true);
    expect(new Set(A).size).toBeGreaterThan(16);
    expect(Array.from(r.childW.get('layers.1.self_attn.q_proj.weight')!.data)).toEqual(Array.from(r.parentW.get('layers.3.self_attn.q_proj.weight')!.data));
    expect(JSON.parse(readFileSync(join(r.dir, 'child/adapters/G/adapter_config.json'), 'utf8')).init_lora_weights).toBe(true);
  });

  it('target_modules falls back to an anchored regex when last names would select more modules', () => {
    const all = ['model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.q_proj'];
    expect(targetModules(all, all)).toEqual(['q_proj']);
    expect(targetModules([all[0]!], all)).toBe('^(?:model\\.layers\\.0\\.self_attn\\.q_proj)$');
  });
});
