// Golden WGSL (tinygrad's "process replay"): the default model's forward graph and its fused AdamW
// training step compiled for one fixed target — DEFAULT_LIMITS, core WebGPU (no subgroups, no
// shader-f16), f32, the untuned 8×8 matmul block — exactly as `scion compile specs/default.scion
// [--train]` writes them. Each file holds the summary, the dispatch list, the memory plan and every
// kernel's WGSL, so a refactor's effect on the kernels shows up as a diff. No GPU is needed.
// Refactors must not change them unless they mean to: UPDATE_SNAPSHOTS=1 rewrites them.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTrainStep, withLmLoss } from '../../compiler/autodiff/train-step.ts';
import { lowerModel } from '../../compiler/lower/lower-model.ts';
import { compileGraph } from '../../compiler/pipeline.ts';
import { parseSpec } from './lower/helpers.ts';

const DIR = join(import.meta.dirname, '../snapshots');
const FILE = 'default.scion';
const MODEL = 'TinyLlama';
const update = process.env['UPDATE_SNAPSHOTS'] === '1';

function snapshot(what: 'forward' | 'train-step'): string {
  const lowered = lowerModel(parseSpec(FILE), MODEL);
  let graph = lowered.graph;
  let carry: { output: string; input: string }[] = [];
  if (what === 'train-step') {
    const step = buildTrainStep(withLmLoss(graph), 'loss');
    graph = step.graph;
    carry = step.carry;
  }
  // Fixed target: no limits, features, precision or matmul block given, so no adapter decides anything.
  const art = compileGraph(graph, { carry });
  const kg = art.graph;
  const mem = art.memory;
  const buf = (id: number): string => {
    const b = kg.buffers[id];
    const p = mem.placements[id];
    return b === undefined ? `b${id}?` : `b${id}${b.name === undefined ? '' : `(${b.name})`}@${p?.arena ?? '?'}:${p?.offset ?? '?'}`;
  };
  const lines = [
    `// scion WGSL snapshot v1: specs/${FILE} model ${MODEL}, ${what === 'forward' ? 'forward' : 'AdamW training step (scion compile --train)'}`,
    `// ${kg.primitiveOps} primitive ops, ${kg.kernels.length} dispatches, ${art.programs.length} WGSL kernels; features [${(art.features ?? []).join(', ')}]`,
    `// memory: arenas [${mem.arenas.join(', ')}] bytes, peak ${mem.peakBytes}, lower bound ${mem.lowerBoundBytes}, ${mem.inplace.length} in place`,
    '',
    '// ── buffers: id role name dtype[shape] @arena:offset',
    ...kg.buffers.map((b) => `${buf(b.id)} ${b.role} ${b.dtype}[${b.shape.join(',')}]`),
    '',
    '// ── dispatches, in order: id kind name (source) inputs → outputs',
    ...kg.kernels.map(
      (k) =>
        `k${k.id} ${k.kind} ${k.name}${k.source === undefined ? '' : ` (${k.source})`}: ${k.inputs.map((i) => `b${i}`).join(' ')} → ${k.outputs.map((o) => `b${o}`).join(' ')}` +
        ` [${k.segments.map((s) => `${s.rows}×${s.cols}`).join(' ')}]${k.inplace.length > 0 ? ` inplace ${k.inplace.map((p) => `b${p.output}=b${p.input}`).join(' ')}` : ''}`,
    ),
    '',
  ];
  for (const p of art.programs) {
    lines.push(`// ── kernel ${p.kernel}: ${p.threads} threads, workgroup ${p.workgroupSize}, arenas [${p.arenas.join(', ')}], key ${p.key}`);
    lines.push(p.code.trimEnd(), '');
  }
  return lines.join('\n');
}

describe('golden WGSL of the default model', () => {
  it.each(['forward', 'train-step'] as const)('%s', (what) => {
    const path = join(DIR, `${FILE.replace(/\.scion$/, '')}.${MODEL}.${what}.wgsl.txt`);
    const got = snapshot(what);
    if (update || !existsSync(path)) {
      writeFileSync(path, got);
      if (!update) throw new Error(`wrote a new snapshot ${path}; rerun to compare (or set UPDATE_SNAPSHOTS=1)`);
      return;
    }
    expect(got).toBe(readFileSync(path, 'utf8'));
  });
});
