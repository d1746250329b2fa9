// Shared by the inheritance tests: a small llama family spec, a parent checkpoint written with
// random weights under the preset's names, running the inheritance of a spec, and reading a
// checkpoint back into Scion parameters to run the model on the CPU reference backend.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InheritDecl, Program } from '../../../grammar/ast.ts';
import { parseProgram } from '../../../grammar/dsl/parse.ts';
import { lowerModel, type LoweredModel } from '../../../compiler/lower/lower-model.ts';
import { checkpointPlan, fromCheckpoint, namingPreset, toCheckpoint, type HostTensor } from '../../../compiler/presets/index.ts';
import { runGraph } from '../../../runtime/cpu/run-graph.ts';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../../runtime/weights/index.ts';
import { runInheritance } from '../../../jobs/inherit/inherit-model.ts';
import type { InheritOutput } from '../../../jobs/inherit/types.ts';
import { llamaSpec, randoms as lowerRandoms } from '../../compiler/lower/helpers.ts';

export const LLAMA = (name: string, a: { vocab: number; dim: number; depth: number; heads: number; kv: number; ffn: number }) => `
${llamaSpec(name, `vocab = ${a.vocab}, dim = ${a.dim}, depth = ${a.depth}, heads = ${a.heads}, kv_heads = ${a.kv}, ffn = ${a.ffn}, ctx = 5`)}
`;

export const PARENT = { vocab: 13, dim: 16, depth: 4, heads: 4, kv: 2, ffn: 24 };

export function parse(text: string): Program {
  const { program, diagnostics } = parseProgram(text, 'test.scion');
  if (diagnostics.length > 0) throw new Error(diagnostics.map((d) => `${d.code} ${d.message}`).join('\n'));
  return program;
}

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'scion-inherit-'));

/** Deterministic uniform(−scale, scale) values (mulberry32), independent of the code under test. */
export const randoms = (n: number, seed: number, scale = 0.4): Float32Array => lowerRandoms(n, seed, scale);

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export function randomWeights(m: LoweredModel, seed: number): Map<string, HostTensor> {
  return new Map(
    m.params.map((p, k) => {
      const v = randoms(numel(p.shape), seed * 7919 + k);
      // Norm gains near 1, as in trained models.
      if (p.path.endsWith('norm.weight') || p.path.endsWith('layernorm.weight')) for (let i = 0; i < v.length; i++) v[i] = 1 + (v[i] as number);
      return [p.path, { shape: p.shape, data: v }];
    }),
  );
}

/** Writes Scion parameters under the model's preset names. */
export async function writeModel(path: string, m: LoweredModel, weights: ReadonlyMap<string, HostTensor>, omit: readonly string[] = []): Promise<void> {
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, t] of toCheckpoint(checkpointPlan(m), weights)) if (!omit.includes(name)) tensors.set(name, { dtype: 'F32', shape: t.shape, data: t.data });
  await writeSafetensors(path, tensors);
}

export async function readModel(path: string, m: LoweredModel): Promise<Map<string, HostTensor>> {
  const r = await openSafetensors(path);
  try {
    return await fromCheckpoint(
      namingPreset(m.instance.preset),
      checkpointPlan(m),
      (n) => r.tensors.get(n)?.shape,
      [...r.tensors.keys()],
      async (n) => ({ shape: r.tensors.get(n)!.shape, data: (await r.read(n)) as Float32Array }),
    );
  } finally {
    await r.close();
  }
}

export function logits(m: LoweredModel, weights: ReadonlyMap<string, HostTensor>, tokens: readonly number[]): Float32Array {
  const feed = new Map(m.params.map((p) => [p.path, { dtype: 'f32' as const, shape: p.shape, data: weights.get(p.path)!.data }]));
  const batch = m.inputs[0]!.shape[0]!;
  feed.set('tokens', { dtype: 'i32' as const, shape: [batch, tokens.length / batch], data: Int32Array.from(tokens) } as never);
  return runGraph(m.graph, feed as never, { dtype: 'f32' }).get('logits')!.data as Float32Array;
}

/** Writes a parent checkpoint for `parentName` and runs the first inherit declaration of `text`. */
export async function inheritFrom(
  text: string,
  weights?: Map<string, HostTensor>,
  omit: readonly string[] = [],
): Promise<{
  program: Program;
  parent: LoweredModel;
  child: LoweredModel;
  parentW: Map<string, HostTensor>;
  childW: Map<string, HostTensor>;
  out: InheritOutput;
  dir: string;
}> {
  const program = parse(text);
  const decl = program.decls.find((d): d is InheritDecl => d.kind === 'inherit')!;
  const parent = lowerModel(program, decl.parent.name);
  const child = lowerModel(program, decl.child.name);
  const dir = tmp();
  const parentW = weights ?? randomWeights(parent, 1);
  await writeModel(join(dir, 'parent.safetensors'), parent, parentW, omit);
  const outDir = join(dir, 'child');
  (await import('node:fs')).mkdirSync(outDir);
  const out = await runInheritance({ programs: [program], decl, cwd: dir, parentPath: join(dir, 'parent.safetensors') }, outDir);
  return { program, parent, child, parentW, childW: await readModel(join(outDir, 'model.safetensors'), child), out, dir };
}
