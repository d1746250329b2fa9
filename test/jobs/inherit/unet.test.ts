// UNet inheritance and pruning: channel spaces selected consistently through convs, GroupNorm
// groups, identity and shortcut residuals, concat skips, the time embedding and CondConv; residual
// units dropped as identities. References are the parent itself, run on the reference interpreter
// with the dropped channels' (or units') weights zeroed — built here from the written child's
// provenance.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.ts';
import type { PruneDecl } from '../../../grammar/ast.ts';
import type { HostTensor } from '../../../compiler/presets/index.ts';
import { lowerModel, type LoweredModel } from '../../../compiler/lower/lower-model.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { channelSpaces } from '../../../jobs/inherit/layout/channels.ts';
import { pruneContext, runInheritance } from '../../../jobs/inherit/inherit-model.ts';
import { layoutOf } from '../../../jobs/inherit/layout/layout-from-model.ts';
import { pruneStep } from '../../../jobs/inherit/prune/prune-step.ts';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../../runtime/weights/index.ts';
import { inheritFrom, parse, randomWeights, readModel, tmp, writeModel } from './helpers.ts';

// base 8 in groups of 2 channels, base·2 in groups of 4; every concat meets its norm's groups whole.
const BODY = (withRes11: boolean) => `
  input x: f32[batch, channels, size, size]
  input t: f32[batch]
  input y: i32[batch]
  temb = TimestepEmbedding(t, base * 2, freq_dim = 8) as time_embedding + LabelEmbedding(y, classes, base * 2) as class_embedding
  h0 = Conv2d(x, base) as conv_in
  d0 = ResBlock(h0, base, temb, groups = groups) as down[0].res[0]
  s0 = Conv2d(d0, base, stride = 2) as down[0].downsample
  d1 = ResBlock(s0, base * 2, temb, groups = groups) as down[1].res[0]
  ${withRes11 ? 'd1 = ResBlock(d1, base * 2, temb, groups = groups) as down[1].res[1]' : ''}
  m = CondConv2d(d1, base * 2, experts = 2) as mid.condconv
  u0 = ResBlock(concat(m, d1, axis = 1), base * 2, temb, groups = groups) as up[0].res[0]
  u = Conv2d(upsample(u0), base) as up[0].upsample
  u1 = ResBlock(concat(u, d0, axis = 1), base, temb, groups = groups) as up[1].res[0]
  output eps = Conv2d(silu(GroupNorm(u1, groups = groups) as norm_out), channels) as conv_out
`;
const UNET = (name: string, withRes11 = true) => `model ${name}(size = 4, channels = 1, base = 8, classes = 3, groups = 4) preset unet {${BODY(withRes11)}}\n`;

const SPEC = `${UNET('U')}${UNET('Same')}${UNET('NoRes11', false)}
inherit Same from U at "parent.safetensors" { channels = l2 }
prune U to Half { channels = l2(ratio = 0.5) }
prune U to NoRes11 { blocks = drop(["down[1].res[1]"]) }
prune U to Bad { blocks = drop(["down[1].res[0]"]) }
prune U to Undeclared { blocks = drop(["down[1].res[1]"]) }
`;

const X = Array.from({ length: 16 }, (_, i) => Math.sin(i * 1.7));

function eps(m: LoweredModel, w: ReadonlyMap<string, HostTensor>): Float32Array {
  const feed = new Map<string, unknown>(m.params.map((p) => [p.path, { dtype: 'f32', shape: p.shape, data: w.get(p.path)!.data }]));
  feed.set('x', { dtype: 'f32', shape: [1, 1, 4, 4], data: Float32Array.from(X) });
  feed.set('t', { dtype: 'f32', shape: [1], data: Float32Array.of(37) });
  feed.set('y', { dtype: 'i32', shape: [1], data: Int32Array.of(2) });
  return runGraph(m.graph, feed as never, { dtype: 'f32' }).get('eps')!.data as Float32Array;
}

/** The parent checkpoint with every index a child tensor drops zeroed on that axis (from provenance.json), read back. */
async function zeroDropped(dir: string, parent: LoweredModel): Promise<Map<string, HostTensor>> {
  const prov = JSON.parse(readFileSync(join(dir, 'child', 'provenance.json'), 'utf8')) as {
    tensors: Record<string, { parent?: string; keep?: (number[] | null)[] }>;
  };
  const r = await openSafetensors(join(dir, 'parent.safetensors'));
  const tensors = new Map<string, TensorToWrite>();
  try {
    for (const [name, info] of r.tensors) tensors.set(name, { dtype: 'F32', shape: info.shape, data: Float32Array.from((await r.read(name)) as Float32Array) });
  } finally {
    await r.close();
  }
  for (const t of Object.values(prov.tensors)) {
    const p = t.parent === undefined ? undefined : tensors.get(t.parent);
    if (p === undefined) continue;
    (t.keep ?? []).forEach((keep, axis) => {
      if (keep === null) return;
      const n = p.shape[axis]!;
      const inner = p.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const outer = p.data.length / (n * inner);
      const kept = new Set(keep);
      for (let o = 0; o < outer; o++)
        for (let i = 0; i < n; i++) if (!kept.has(i)) (p.data as Float32Array).fill(0, (o * n + i) * inner, (o * n + i + 1) * inner);
    });
  }
  await writeSafetensors(join(dir, 'zeroed.safetensors'), tensors);
  return readModel(join(dir, 'zeroed.safetensors'), parent);
}

async function pruneTo(
  child: string,
): Promise<{ dir: string; parent: LoweredModel; parentW: Map<string, HostTensor>; childM: LoweredModel; childW: Map<string, HostTensor> }> {
  const program = parse(SPEC);
  const decl = program.decls.find((d): d is PruneDecl => d.kind === 'prune' && d.to?.name === child)!;
  const parent = lowerModel(program, 'U');
  const dir = tmp();
  const parentW = randomWeights(parent, 3);
  await writeModel(join(dir, 'parent.safetensors'), parent, parentW);
  mkdirSync(join(dir, 'child'));
  const ctx = pruneContext([program], decl, join(dir, 'parent.safetensors'), dir);
  await runInheritance(ctx, join(dir, 'child'));
  const childM = ctx.pruned!.child;
  return { dir, parent, parentW, childM, childW: await readModel(join(dir, 'child', 'model.safetensors'), childM) };
}

const close = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  const worst = Math.max(...Array.from(a, (v, i) => Math.abs(v - (b[i] as number))));
  expect(worst).toBeLessThan(1e-5);
};

describe('UNet channel spaces', () => {
  it('ties every tensor that shares a channel axis, concat skips at their offsets, in whole GroupNorm groups', () => {
    const spaces = new Map(channelSpaces(layoutOf(lowerModel(parse(SPEC), 'U'))).map((g) => [g.key, g]));
    // conv_in's space flows through down[0].res[0] (in == out) and into up[1].res[0] after `u` (8 channels).
    const c0 = spaces.get('conv_in:out')!;
    expect(c0.units).toBe(2); // 8 channels; up[1]'s norm1 sees 16 in 4 groups of 4
    const at = (g: typeof c0, path: string, axis: number) => g.members.filter((x) => x.path === path && x.axis === axis).map((x) => x.offset);
    expect(at(c0, 'down.0.res.0.conv2.weight', 0)).toEqual([0]);
    expect(at(c0, 'up.1.res.0.conv1.weight', 1)).toEqual([8]);
    expect(at(c0, 'up.1.res.0.norm1.weight', 0)).toEqual([8]);
    expect(at(c0, 'down.0.downsample.weight', 1)).toEqual([0]);
    // down[1].res[0] has a shortcut: a new space, shared by res[1] (identity), CondConv's input and the up skip.
    const d1 = spaces.get('down.1.res.0:out')!;
    expect(at(d1, 'down.1.res.0.conv_shortcut.weight', 0)).toEqual([0]);
    expect(at(d1, 'mid.condconv.weight', 2)).toEqual([0]);
    expect(at(d1, 'mid.condconv.routing.weight', 1)).toEqual([0]);
    expect(at(d1, 'up.0.res.0.conv1.weight', 1)).toEqual([16]);
    expect(at(spaces.get('mid.condconv:out')!, 'up.0.res.0.conv1.weight', 1)).toEqual([0]);
    // The time embedding (timestep MLP + label table) into every ResBlock's projection.
    const te = spaces.get('time_embedding:out')!;
    expect(te.units).toBe(16);
    expect(te.members.some((x) => x.path === 'class_embedding.embedding_table.weight' && x.axis === 1)).toBe(true);
    expect(te.members.filter((x) => x.path.endsWith('time_emb_proj.weight')).length).toBe(5);
    // The image channels never change.
    expect([...spaces.keys()].some((k) => k.startsWith('conv_out'))).toBe(false);
  });

  it('a child keeping every channel reproduces the parent exactly', async () => {
    const r = await inheritFrom(SPEC);
    expect(eps(r.child, r.childW)).toEqual(eps(r.parent, r.parentW));
  });

  it('a channel-pruned child equals the parent with the dropped channels zeroed', async () => {
    const r = await pruneTo('Half');
    expect(r.childM.params.find((p) => p.path === 'conv_in.weight')!.shape).toEqual([4, 1, 3, 3]);
    expect(r.childM.params.find((p) => p.path === 'mid.condconv.weight')!.shape).toEqual([2, 8, 8, 3, 3]);
    const ref = await zeroDropped(r.dir, r.parent);
    close(eps(r.childM, r.childW), eps(r.parent, ref));
    // Not vacuous: the full parent differs.
    expect(Math.max(...Array.from(eps(r.parent, r.parentW), (v, i) => Math.abs(v - eps(r.parent, ref)[i]!)))).toBeGreaterThan(1e-3);
  });

  it("pruneStep zeroes a whole channel group on the producer's rows and on the concat skip's columns", () => {
    const m = lowerModel(parse(SPEC), 'U');
    const w = randomWeights(m, 5);
    const dense = new Map([...w].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
    const gone = pruneStep(dense, { layout: layoutOf(m), kinds: ['channels'], metric: 'l2' }, 0.5);
    const g = gone.get('conv_in:out')!;
    expect(g.length).toBe(1);
    // Both channels of the dropped unit are zero on conv_in's rows and on up[1].res[0]'s skip columns (offset 8).
    const cin = w.get('conv_in.weight')!.data;
    const conv1 = w.get('up.1.res.0.conv1.weight')!.data; // [8, 16, 3, 3]
    for (let c = g[0]! * 4; c < g[0]! * 4 + 4; c++) {
      expect(cin.slice(c * 9, c * 9 + 9).every((v) => v === 0)).toBe(true);
      for (let o = 0; o < 8; o++) expect(conv1.slice((o * 16 + 8 + c) * 9, (o * 16 + 9 + c) * 9).every((v) => v === 0)).toBe(true);
    }
  });
});

describe('prune blocks = drop([…]) for UNets', () => {
  it('removes an identity ResBlock: the child equals the parent with that unit skipped', async () => {
    const r = await pruneTo('NoRes11');
    // Skipping an identity ResBlock: its residual branch (conv2) contributes nothing.
    const ref = new Map(r.parentW);
    for (const n of ['weight', 'bias'])
      ref.set(`down.1.res.1.conv2.${n}`, {
        shape: r.parentW.get(`down.1.res.1.conv2.${n}`)!.shape,
        data: new Float32Array(r.parentW.get(`down.1.res.1.conv2.${n}`)!.data.length),
      });
    close(eps(r.childM, r.childW), eps(r.parent, ref));
  });

  it('refuses a unit that changes channels and a child that is not declared', async () => {
    await expect(pruneTo('Bad')).rejects.toThrow(/maps 8 channels to 16, so it is not an identity/);
    await expect(pruneTo('Undeclared')).rejects.toThrow(/declare the smaller model/);
  });
});

describe('scion inherit on specs/a-sdm.scion', () => {
  it('prunes the initialized UNet to half its channels by taylor on MNIST calibration', async () => {
    const dir = tmp();
    const io = {
      stdout: '',
      stderr: '',
      isTty: false,
      cwd: process.cwd(),
      out: (s: string) => void (io.stdout += s),
      err: (s: string) => void (io.stderr += s),
    };
    expect(await main(['init', 'specs/a-sdm.scion', '--model', 'UNet', '-o', join(dir, 'unet')], io)).toBe(0);
    const code = await main(
      ['inherit', 'specs/a-sdm.scion', '--child', 'PrunedUNet', '--parent', join(dir, 'unet'), '--calib-batches', '1', '-o', join(dir, 'out'), '--json'],
      io,
    );
    expect(io.stderr.includes('error') ? io.stderr : code).toBe(0);
    const r = await openSafetensors(join(dir, 'out', 'model.safetensors'));
    const p = await openSafetensors(join(dir, 'unet'));
    try {
      // Every conv halves its channels (base 32 → 16); the image channels stay.
      for (const [name, info] of p.tensors) {
        const c = r.tensors.get(name)!;
        if (info.shape.length === 4 && info.shape[0] !== 1) expect(c.shape[0]).toBe(info.shape[0]! / 2);
      }
    } finally {
      await r.close();
      await p.close();
    }
    const prov = JSON.parse(readFileSync(join(dir, 'out', 'provenance.json'), 'utf8')) as { tensors: Record<string, { scores?: (number[] | null)[] }> };
    expect(Object.values(prov.tensors).some((t) => t.scores?.some((s) => s !== null && s.some((v) => v > 0)))).toBe(true);
  }, 60_000);
});
