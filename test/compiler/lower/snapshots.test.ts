// Graph IR snapshots (text form) for every model in specs/: a digest of the whole graph plus its
// first lines, at batch 1 and depth 1 where a model has a `depth` parameter, so files stay small.
// Refactors must not change them unless they mean to: UPDATE_SNAPSHOTS=1 rewrites them.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelNames } from '../../../grammar/eval/instantiate.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { verifyGraph } from '../../../compiler/ir/verify.ts';
import { printGraph } from '../../../compiler/ir/text.ts';
import { parseSpec, SPECS } from './helpers.ts';

const DIR = join(import.meta.dirname, '../../snapshots');
const HEAD_LINES = 60;
const update = process.env['UPDATE_SNAPSHOTS'] === '1';

function snapshot(file: string, model: string): string {
  const program = parseSpec(file);
  const decl = program.decls.find((d) => d.kind === 'model' && d.name.name === model);
  const base = decl?.kind === 'model' ? decl : undefined;
  const hasDepth = base === undefined ? true : base.params.some((p) => p.name.name === 'depth');
  const m = lowerModel(program, model, hasDepth ? { overrides: { depth: 1 } } : {});
  verifyGraph(m.graph);
  const text = printGraph(m.graph);
  const lines = text.split('\n');
  const digest = createHash('sha256').update(text).digest('hex');
  return [
    `// scion IR snapshot v1: ${file} model ${model}${hasDepth ? ' (depth = 1)' : ''}, batch 1`,
    `// ${m.graph.nodes.length} nodes, ${m.params.length} parameters, sha256 ${digest}`,
    // Constant tables (position embeddings) would dominate; long lines are cut, the digest covers them.
    ...lines.slice(0, HEAD_LINES).map((l) => (l.length > 240 ? `${l.slice(0, 240)}…` : l)),
    ...(lines.length > HEAD_LINES ? [`// … ${lines.length - HEAD_LINES} more lines`] : []),
    '',
  ].join('\n');
}

const cases = readdirSync(SPECS)
  .filter((f) => f.endsWith('.scion'))
  .sort()
  .flatMap((f) => modelNames(parseSpec(f)).map((m) => [f, m] as [string, string]));

describe('IR snapshots of specs/', () => {
  it.each(cases)('%s %s', (file, model) => {
    const path = join(DIR, `${file.replace(/\.scion$/, '')}.${model}.ir.txt`);
    const got = snapshot(file, model);
    if (update || !existsSync(path)) {
      writeFileSync(path, got);
      if (!update) throw new Error(`wrote a new snapshot ${path}; rerun to compare (or set UPDATE_SNAPSHOTS=1)`);
      return;
    }
    expect(got).toBe(readFileSync(path, 'utf8'));
  });
});
