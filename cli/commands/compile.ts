// `scion compile FILE [--model NAME] [--train] [--batch B] [--f16] [--features LIST] -o DIR [--json]`:
// lowers a model (and
// with --train its training step: next-token cross-entropy on the first output, autodiff, AdamW),
// compiles it to fused WebGPU kernels and writes the artifact: DIR/plan.json (kernels, dispatch
// order, buffer and memory plan, weight map) and DIR/kernels/*.wgsl. --f16 stores the weights as
// f16 (arithmetic stays f32); --features names what the target device offers (comma-separated,
// e.g. subgroups,shader-f16); plan.json's `features` lists what the kernels need. --json prints
// {"kernels", "dispatches", "primitiveOps", "peakBytes", "lowerBoundBytes", "features", "cost"}:
// `cost` is the static cost report (compiler/kernel/cost.ts) — per dispatch the threads launched,
// the longest per-thread loop and the bytes read and written, and the graph's critical path.

import { mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { buildTrainStep, withLmLoss } from '../../compiler/autodiff/train-step.ts';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import { compileGraph } from '../../compiler/pipeline.ts';
import { costReport } from '../../compiler/kernel/cost.ts';
import { command, commandSpec, usageError } from '../flags.ts';
import { EXIT } from '../io.ts';
import { loadSpec } from '../spec.ts';
import { absolute, checkOutputDir } from '../outputs.ts';

export const SPEC = commandSpec({
  name: 'compile',
  about:
    'Compiles a model (the last one the spec declares, or --model; with --train: its AdamW training step) into fused WebGPU kernels:\nDIR/plan.json and DIR/kernels/*.wgsl. --f16 stores weights as f16 (needs shader-f16); --features subgroups uses subgroup\nrow reductions. --json prints {"kernels", "dispatches", "primitiveOps", "peakBytes", "lowerBoundBytes", "features", "cost"}\n(cost: per dispatch threads, longest per-thread loop, bytes read and written; the critical path = Σ of the loops).',
  args: { name: 'FILE', min: 1, max: 1 },
  flags: ['model', 'train', 'batch', 'f16', 'features', 'out', 'json'],
  required: ['out'],
  placeholders: { out: 'DIR' },
});

export const run = command(SPEC, async ({ flags: { model, out, batch, train, json, f16, features }, args: [file = ''] }, io) => {
  checkOutputDir(absolute(io.cwd, out), out);
  const program = loadSpec(file, io, 'compile');
  if (program === undefined) return EXIT.inputError;
  const decl = [...program.decls].reverse().find((d) => d.kind === 'model');
  const declName = decl === undefined ? undefined : typeof decl.name === 'string' ? decl.name : decl.name.name;
  const name = model ?? declName;
  if (name === undefined) throw usageError(SPEC, 'the spec declares no model: give --model NAME');
  const lowered = lowerModel(program, name, batch === undefined ? {} : { dims: { batch } });
  let graph = lowered.graph;
  let carry: { output: string; input: string }[] = [];
  if (train) {
    const step = buildTrainStep(withLmLoss(graph), 'loss');
    graph = step.graph;
    carry = step.carry;
  }
  if (f16 && features !== undefined && !features.includes('shader-f16'))
    throw usageError(SPEC, '--f16 needs shader-f16 in --features (or leave --features out)');
  const art = compileGraph(graph, { carry, ...(f16 ? { precision: 'f16' as const } : {}), ...(features === undefined ? {} : { features }) });
  const dir = isAbsolute(out) ? out : resolve(io.cwd, out);
  mkdirSync(join(dir, 'kernels'), { recursive: true });
  const files_ = art.programs.map((p) => ({ kernel: p.kernel, file: `kernels/${String(p.kernel).padStart(4, '0')}.wgsl` }));
  for (const [k, p] of art.programs.entries()) writeFileSync(join(dir, (files_[k] as { file: string }).file), p.code);
  const weightMap = lowered.params.map((p) => ({ name: p.path, shape: p.shape, buffer: art.graph.params.find((x) => x.name === p.path)?.buffer ?? null }));
  const plan = {
    format: 'scion-plan',
    version: art.graph.version,
    model: name,
    train,
    precision: f16 ? 'f16' : 'f32',
    features: art.features ?? [],
    graph: art.graph,
    memory: art.memory,
    weightMap,
    programs: art.programs.map((p, k) => ({
      kernel: p.kernel,
      key: p.key,
      threads: p.threads,
      workgroupSize: p.workgroupSize,
      arenas: p.arenas,
      file: files_[k]?.file,
    })),
  };
  writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan, null, 1) + '\n');
  const cost = costReport(art.optimized, art);
  const summary = {
    kernels: art.programs.length,
    dispatches: art.graph.kernels.length,
    primitiveOps: art.graph.primitiveOps,
    peakBytes: art.memory.peakBytes,
    lowerBoundBytes: art.memory.lowerBoundBytes,
    features: art.features ?? [],
    cost,
  };
  if (json) io.out(JSON.stringify(summary) + '\n');
  else
    io.out(
      `compiled ${name}${train ? ' (training step)' : ''}: ${summary.primitiveOps} primitive ops → ${summary.dispatches} dispatches (${summary.kernels} WGSL kernels); peak ${summary.peakBytes} bytes, lower bound ${summary.lowerBoundBytes}; critical path ${cost.criticalPath} loop iterations${summary.features.length > 0 ? `; needs ${summary.features.join(', ')}` : ''}; wrote ${out}/plan.json\n`,
    );
  return EXIT.ok;
});
