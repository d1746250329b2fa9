// The playground's pure parts in Node: highlighting derived from the lexer's tokens, the analysis
// behind the inline diagnostics and the explain panel, the layer picture, and `scion playground`
// refusing a taken port with one line.

import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { analyze } from '../../playground/analyze.ts';
import { defaultSpec } from '../../playground/assets.ts';
import { blockOf, layerGraphSvg } from '../../playground/graph-svg.ts';
import { highlightLine } from '../../playground/highlight.ts';
import { captureIo } from '../cli/capture-io.ts';
import { KD_MISMATCH } from '../fixtures/loss-specs.ts';

describe('highlighting from the lexer tokens', () => {
  it('styles each token of a line as the lexer splits it', () => {
    expect(highlightLine('model M(d = 2k) { h = Linear(x, d) as out // c')).toEqual([
      ['model', 'keyword'],
      [' ', null],
      ['M', 'variableName'],
      ['(', 'punctuation'],
      ['d', 'variableName'],
      [' ', null],
      ['=', 'punctuation'],
      [' ', null],
      ['2k', 'number'],
      [')', 'punctuation'],
      [' ', null],
      ['{', 'punctuation'],
      [' ', null],
      ['h', 'variableName'],
      [' ', null],
      ['=', 'punctuation'],
      [' ', null],
      ['Linear', 'variableName.function'],
      ['(', 'punctuation'],
      ['x', 'variableName'],
      [',', 'punctuation'],
      [' ', null],
      ['d', 'variableName'],
      [')', 'punctuation'],
      [' ', null],
      ['as', 'keyword'],
      [' ', null],
      ['out', 'variableName'],
      [' ', null],
      ['// c', 'comment'],
    ]);
  });

  it('lets a longer name win over a keyword prefix, takes the longest operator, and strings', () => {
    expect(highlightLine('modelx train_ ** "a\\"b" 1e-4')).toEqual([
      ['modelx', 'variableName'],
      [' ', null],
      ['train_', 'variableName'],
      [' ', null],
      ['**', 'operator'],
      [' ', null],
      ['"a\\"b"', 'string'],
      [' ', null],
      ['1e-4', 'number'],
    ]);
  });

  it('gives a character the lexer rejects no style and moves on', () => {
    expect(highlightLine('a @ b')).toEqual([
      ['a', 'variableName'],
      [' ', null],
      ['@', null],
      [' ', null],
      ['b', 'variableName'],
    ]);
  });
});

describe('analyze (the page checks and explains with it)', () => {
  it('the default spec: no diagnostics, TinyLlama explained and trainable', () => {
    const a = analyze(defaultSpec());
    expect(a.diagnostics).toEqual([]);
    expect(a.model).toBe('TinyLlama');
    expect(a.trainable).toBe(true);
    // 1,774,720: embed 4096·128; per block (×4) 128 + q 128·128 + k, v 128·64 each + o 128·128 + 128
    // + SwiGLU 3·128·344; final norm 128; head 128·4096.
    expect(a.report?.params).toBe(4096 * 128 + 4 * (128 + 2 * 128 * 128 + 2 * 128 * 64 + 128 + 3 * 128 * 344) + 128 + 128 * 4096);
    expect(a.report?.params).toBe(1_774_720);
    expect(a.table).toContain('parameters: 1,774,720');
  });

  it('a misspelt name: the diagnostic at its line and offsets, with the suggestion; no table', () => {
    const text = defaultSpec().replace('Embedding(tokens, vocab, dim)', 'Embedding(tokens, vocab, dimm)');
    const a = analyze(text);
    const at = text.indexOf('dimm)');
    expect(a.diagnostics).toEqual([
      {
        from: at,
        to: at + 4,
        line: text.slice(0, at).split('\n').length,
        col: text.slice(0, at).length - text.lastIndexOf('\n', at - 1),
        severity: 'error',
        code: 'E0301',
        message: expect.stringMatching(/`dimm`[\s\S]*\ndid you mean `dim`\?$/),
      },
    ]);
    expect(a.table).toBeUndefined();
  });

  it("a loss whose operands cannot match: `scion check`'s E0901 at the kd call, from lowering", () => {
    // A 3-wide student's logits distilled from a 5-wide teacher's: the checker passes it, lowering does not.
    const text = KD_MISMATCH;
    const a = analyze(text);
    const at = text.indexOf('kd(');
    expect(a.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.code, d.line, d.from, d.message])).toEqual([
      ['E0901', 9, at, 'kd: student [4, 3, 3] and teacher [4, 3, 5] logits must have one shape'],
    ]);
    expect(a.table).toBeUndefined();
  });

  it('a spec without a train declaration explains its last model and is not trainable', () => {
    const a = analyze('model A(d = 4) { input x: f32[batch, d]\n output y = Linear(x, 2) as head }\n');
    expect(a.diagnostics).toEqual([]);
    expect(a.model).toBe('A');
    expect(a.trainable).toBe(false);
    expect(a.report?.layers.map((l) => l.path)).toEqual(['head']);
    // Linear(4 → 2) with a bias: 4·2 + 2.
    expect(a.report?.params).toBe(10);
  });
});

describe('the layer picture', () => {
  it('names the repeated block of a layer path', () => {
    expect(blockOf('layers.0.self_attn')).toBe('layers.0');
    expect(blockOf('down[1].res')).toBe('down[1]');
    expect(blockOf('lm_head')).toBe('');
  });

  it('draws one box per input, layer and output, and one frame per block', () => {
    const r = analyze(defaultSpec()).report;
    if (r === undefined) throw new Error('no report');
    const svg = layerGraphSvg(r);
    // the input; embed, 4 blocks of 4 layers, norm and head; the output
    expect(svg.match(/<g class="layer">/g)?.length).toBe(1 + (1 + 4 * 4 + 2) + 1);
    expect(svg.match(/stroke-dasharray="4 3"/g)?.length).toBe(4); // layers.0 … layers.3
    expect(svg).toContain('input tokens');
    expect(svg).toContain('SwiGLU → [1, 128, 128] · 132.10k params'); // 3·128·344 = 132,096
  });
});

describe('scion playground', () => {
  it('a taken port: one line naming it and the fix, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const io = captureIo(process.cwd());
      expect(await main(['playground', '--port', String(port), '--no-open'], io)).toBe(1);
      expect(io.stderr).toBe(`scion playground: port ${port} is in use: pass --port with another one, or --port 0 for any free port\n`);
    } finally {
      blocker.close();
    }
  });
});
