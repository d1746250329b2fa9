// Pre-flight reads only headers and reports each problem at its spec line.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InheritDecl } from '../../../grammar/ast.ts';
import { lowerModel } from '../../../compiler/lower/lower-model.ts';
import { preflight } from '../../../jobs/inherit/spec/preflight.ts';
import { LLAMA, PARENT, parse, randomWeights, tmp, writeModel } from './helpers.ts';

async function check(fields: string, child: string, opts: { ckptDepth?: number; omit?: string[] } = {}) {
  const text = `${LLAMA('P', PARENT)}\nmodel C = P(${child})\ninherit C from P at "parent.safetensors" {\n${fields}\n}\n`;
  const program = parse(text);
  const dir = tmp();
  const written = lowerModel(parse(LLAMA('P', { ...PARENT, depth: opts.ckptDepth ?? PARENT.depth })), 'P');
  await writeModel(join(dir, 'parent.safetensors'), written, randomWeights(written, 1), opts.omit ?? []);
  const decl = program.decls.find((d): d is InheritDecl => d.kind === 'inherit')!;
  const lines = text.split('\n');
  return (await preflight([program], decl, { cwd: dir })).map((d) => ({
    code: d.code,
    line: lines[d.span.start.line - 1]!.trim(),
    message: d.message,
    notes: d.notes.map((n) => n.message),
  }));
}

describe('preflight', () => {
  it('says nothing for a consistent declaration', async () => {
    expect(await check('  layers = [0, 3]\n  ffn = l2', 'depth = 2, ffn = 8')).toEqual([]);
  });

  it('reports a checkpoint with fewer layers than declared, and a kept layer past it', async () => {
    const d = await check('  layers = [0, 3]', 'depth = 2', { ckptDepth: 3 });
    expect(d.map((x) => x.code)).toEqual(['E0803', 'E0804']);
    expect(d[0]!.line).toBe('inherit C from P at "parent.safetensors" {');
    expect(d[0]!.notes).toContain("missing tensor 'model.layers.3.self_attn.q_proj.weight' [16, 16]");
    expect(d[1]).toMatchObject({ line: 'layers = [0, 3]', message: 'layer 3 is past the checkpoint, which holds layers 0..2' });
  });

  it('reports a head width the child cannot keep, and an impossible kv grouping', async () => {
    const a = await check('  heads = l2', 'heads = 2');
    expect(a).toMatchObject([
      {
        code: 'E0805',
        line: 'heads = l2',
        message:
          "layers.N.self_attn (every layer): the child's head width 8 differs from the parent's 4: heads are kept whole, so dim / heads must stay the same (give the child dim = 8 for 2 heads)",
      },
    ]);
    const b = await check('  heads = l2\n  dim = l2', 'heads = 3, kv_heads = 3, dim = 12');
    expect(b).toMatchObject([{ code: 'E0805', line: 'heads = l2' }]);
  });

  it('reports token ids past the embedding rows, and a tie that except would break', async () => {
    const v = await check('  vocab = [0, 5, 13]', 'vocab = 3');
    expect(v).toMatchObject([{ code: 'E0806', line: 'vocab = [0, 5, 13]', message: 'token 13 is out of range: the parent has tokens 0..12' }]);
    const t = await check('  except = ["lm_head"]', '', { omit: ['lm_head.weight'] });
    expect(t).toMatchObject([{ code: 'E0807', line: 'except = ["lm_head"]' }]);
  });
});
