// The debug switch SCION_DUMP_IR=1 (docs/debugging.md): optimizeGraph prints the IR as lowered and
// after every pass, in the IR's text form, on stderr; unset, it prints nothing.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseGraph, printGraph } from '../../compiler/ir/text.ts';
import { IR_PASSES, optimizeGraph } from '../../compiler/pipeline.ts';

// exp(x·1): simplify removes the identity, so the dumps before and after differ.
const IR = '%0: f32[2] = input {name="x"}\n%1: f32[] = full {value=1}\n%2: f32[2] = mul %0, %1\n%3: f32[2] = exp %2\noutput "y" = %3\n';

describe('SCION_DUMP_IR', () => {
  afterEach(() => {
    delete process.env['SCION_DUMP_IR'];
    vi.restoreAllMocks();
  });

  function dumped(): string {
    let text = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      text += String(chunk);
      return true;
    });
    optimizeGraph(parseGraph(IR));
    return text;
  }

  it('prints the lowered IR and the IR after each pass, in order', () => {
    process.env['SCION_DUMP_IR'] = '1';
    const text = dumped();
    const headers = [...text.matchAll(/^\/\/ ── IR (.*) \(\d+ nodes\) ──$/gm)].map((m) => m[1]);
    expect(headers).toEqual(['as lowered', ...IR_PASSES.map((p) => `after ${p.name}`)]);
    expect(text).toContain(printGraph(parseGraph(IR)));
    // After simplify the multiplication by one is gone.
    const afterSimplify = text.split('// ── IR after simplify')[1]!.split('// ── IR')[0]!;
    expect(afterSimplify).not.toContain(' mul ');
  });

  it('prints nothing when unset', () => {
    expect(dumped()).toBe('');
  });
});
