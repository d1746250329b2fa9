// Inheritance at scale through the real path: a generated llama-family parent of ~2 GiB in f32
// (a spec with big dims, its checkpoint written streamed under the preset's Hugging Face names),
// then `runInheritance` on an `inherit` declaration choosing the child by l2 width (residual,
// heads, FFN) and keep_ends layers — the same code `scion inherit` runs. Reports peak RSS (goal
// < 500 MiB) and the parent's bytes per second beside the disk's raw sequential read speed (plain
// fs reads of the same file, same cache state). Heavy: run it by hand (`npx tsx
// bench/inherit-memory.ts`, or `scion bench inherit-memory`), never from tests.
// SCION_BENCH_INHERIT_DEPTH changes the parent's depth (default 10 ≈ 2.15 GB; 1 ≈ 0.45 GB).

import { mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InheritDecl } from '../grammar/ast.ts';
import { parseProgram } from '../grammar/dsl/parse.ts';
import { lowerModel } from '../compiler/lower/lower-model.ts';
import { checkpointPlan } from '../compiler/presets/index.ts';
import { runInheritance } from '../jobs/inherit/inherit-model.ts';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../runtime/weights/index.ts';
import { result, type Benchmark, type BenchResult } from './types.ts';

const spec = (depth: number) => `
model Big(vocab = 16000, dim = 2048, depth = ${depth}, heads = 16, kv_heads = 8, ffn = 5632, ctx = 8) preset llama {
  input tokens: i32[batch, ctx]
  h = Embedding(tokens, vocab, dim) as embed_tokens
  repeat i in 0..depth {
    h = h + Attention(RMSNorm(h) as layers[i].input_layernorm, heads, kv_heads = kv_heads, rope = true, causal = true) as layers[i].self_attn
    h = h + SwiGLU(RMSNorm(h) as layers[i].post_attention_layernorm, ffn) as layers[i].mlp
  }
  output logits = Linear(RMSNorm(h) as norm, vocab, bias = false) as lm_head
}
model Child = Big(dim = 1024, depth = ${Math.min(depth, Math.max(2, Math.ceil(depth * 0.6)))}, heads = 8, kv_heads = 4, ffn = 2816)
inherit Child from Big at "parent.safetensors" {
  layers = keep_ends(first = 1, last = 1)
  dim = l2
  heads = l2
  ffn = l2
}
`;

/** Peak RSS so far, sampled: maxRSS covers the whole process, so phases also sample their own. */
class RssSampler {
  peak = 0;
  private timer: NodeJS.Timeout | undefined;
  start(): void {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => (this.peak = Math.max(this.peak, process.memoryUsage.rss())), 20);
  }
  stop(): number {
    clearInterval(this.timer);
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
    return this.peak;
  }
}

const MiB = 1024 * 1024;
const mbps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

async function rawSequentialRead(path: string): Promise<number> {
  const handle = await open(path, 'r');
  const buffer = new Uint8Array(16 * MiB);
  let total = 0;
  const t0 = performance.now();
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
    if (bytesRead === 0) break;
    total += bytesRead;
  }
  const ms = performance.now() - t0;
  await handle.close();
  return mbps(total, ms);
}

async function runInheritMemory(log: (m: string) => void): Promise<BenchResult[]> {
  const depth = Number(process.env.SCION_BENCH_INHERIT_DEPTH ?? '10');
  const dir = await mkdtemp(join(tmpdir(), 'scion-inherit-bench-'));
  try {
    const text = spec(depth);
    const { program, diagnostics } = parseProgram(text, 'bench.scion');
    if (diagnostics.length > 0) throw new Error(diagnostics.map((d) => d.message).join('\n'));
    const parentPath = join(dir, 'parent.safetensors');
    await writeFile(join(dir, 'bench.scion'), text);

    // Parent: every checkpoint tensor generated when the writer reaches it (a cheap LCG pattern,
    // distinct per tensor so norms differ), never more than one in memory.
    const parent = lowerModel(program, 'Big');
    const tensors = new Map<string, TensorToWrite>();
    checkpointPlan(parent).forEach((e, k) => {
      tensors.set(e.hf, {
        dtype: 'F32',
        shape: e.shape,
        data: () => {
          const n = e.shape.reduce((a, b) => a * b, 1);
          const v = new Float32Array(n);
          let x = (k + 1) * 2654435761;
          for (let i = 0; i < n; i++) {
            x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
            v[i] = (x / 4294967296 - 0.5) * 0.1;
          }
          return v;
        },
      });
    });
    log(`writing a llama parent of depth ${depth} to ${dir}`);
    const writeRss = new RssSampler();
    writeRss.start();
    let t0 = performance.now();
    await writeSafetensors(parentPath, tensors, { format: 'pt' });
    const writeMs = performance.now() - t0;
    const writePeak = writeRss.stop();
    const parentBytes = (await stat(parentPath)).size;
    log(`parent ${(parentBytes / MiB).toFixed(0)} MiB written in ${(writeMs / 1000).toFixed(1)} s (peak RSS ${(writePeak / MiB).toFixed(0)} MiB)`);

    const raw = await rawSequentialRead(parentPath);
    log(`raw sequential read: ${raw.toFixed(0)} MiB/s`);

    // The real path: plan (l2 scores read every tensor the groups touch), check, write, provenance.
    const decl = program.decls.find((d): d is InheritDecl => d.kind === 'inherit')!;
    const outDir = join(dir, 'child');
    await mkdir(outDir);
    const startRss = process.memoryUsage.rss();
    const rss = new RssSampler();
    rss.start();
    t0 = performance.now();
    const out = await runInheritance({ programs: [program], decl, cwd: dir, log }, outDir);
    const inheritMs = performance.now() - t0;
    // The sampler misses peaks inside long synchronous loops; the kernel's high-water mark does not
    // (it covers the whole process, whose write phase holds one tensor at most).
    const sampled = rss.stop();
    const peak = Math.max(sampled, process.resourceUsage().maxRSS * 1024);
    log(
      `RSS before inheriting ${(startRss / MiB).toFixed(0)} MiB, sampled peak while inheriting ${(sampled / MiB).toFixed(0)} MiB, process high-water mark ${(peak / MiB).toFixed(0)} MiB`,
    );

    // Spot check: the child has the child's shapes.
    const check = await openSafetensors(join(outDir, 'model.safetensors'));
    const q = check.tensors.get('model.layers.0.self_attn.q_proj.weight')?.shape.join('x');
    const layers = out.provenance.layers;
    await check.close();
    if (q !== '1024x1024') throw new Error(`inherit-memory: child q_proj is ${q}, expected 1024x1024`);

    const fileMiB = parentBytes / MiB;
    log(
      `inherit ${(out.bytes / MiB).toFixed(0)} MiB child from ${fileMiB.toFixed(0)} MiB parent in ${(inheritMs / 1000).toFixed(1)} s: ${mbps(parentBytes, inheritMs).toFixed(0)} MiB/s of parent, peak RSS ${(peak / MiB).toFixed(0)} MiB; layers [${layers?.join(', ')}]`,
    );
    return [
      result(`inherit-l2-${fileMiB.toFixed(0)}MiB`, 'MiB/s', mbps(parentBytes, inheritMs), raw, 'raw fs sequential read', true),
      result('write-parent-streamed', 'MiB/s', mbps(parentBytes, writeMs), raw, 'raw fs sequential read', true),
      // Ratio = parent size / peak RSS: how many times smaller than the checkpoint the process stays.
      result('peak-rss-inherit', 'MiB', peak / MiB, fileMiB, 'parent file size', false),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const benchmarks: Benchmark[] = [
  {
    name: 'inherit-memory',
    description: 'runInheritance from a generated ~2 GiB llama parent (l2 width, keep_ends layers): MiB/s and peak RSS',
    needsGpu: false,
    run: (ctx) => runInheritMemory((m) => ctx.log(m)),
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runInheritMemory((m) => process.stderr.write(`${m}\n`));
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(28)} ${r.ours.toFixed(0).padStart(7)} ${r.unit.padEnd(6)} vs ${r.peerName} ${r.peer?.toFixed(0) ?? '-'} (×${r.ratio?.toFixed(2) ?? '-'})`,
    );
  }
}
