// Rendering, suggestions, patterns and import resolution: small pure functions with
// hand-computed expectations.

import { describe, expect, it } from 'vitest';
import type { Span } from '../../../grammar/ast.ts';
import { diag, noteAt } from '../../../grammar/diagnostics/make.ts';
import { renderDiagnostics, summaryLine, toJson } from '../../../grammar/diagnostics/render.ts';
import { editDistance, nearest } from '../../../grammar/diagnostics/suggest.ts';
import { matchesPath, nearestPattern, patternProblem } from '../../../grammar/check/patterns.ts';
import { normalizePath, resolveImports, resolvePath } from '../../../grammar/resolve.ts';
import { parseSource } from '../../../grammar/check/check-source.ts';

const span = (line: number, col: number, endCol: number, file = 'a.scion'): Span => ({
  file,
  start: { line, col, offset: 0 },
  end: { line, col: endCol, offset: 0 },
});

describe('render', () => {
  const src = new Map([['a.scion', 'model M() {\n  h = hh + 1\n}\n']]);
  it('esbuild style: location, severity and code, excerpt, caret, notes, help, summary', () => {
    const d = diag('E0301', span(2, 7, 9), 'undefined name `hh`', { notes: [noteAt('see', span(1, 7, 8))], suggestion: 'did you mean `h`?' });
    expect(renderDiagnostics([d], src)).toBe(
      'a.scion:2:7: error[E0301]: undefined name `hh`\n' +
        '  2 │   h = hh + 1\n' +
        '    │       ^^\n' +
        '  = note: see (a.scion:1:7)\n' +
        '  = help: did you mean `h`?\n' +
        '\n' +
        '1 error\n',
    );
  });
  it('sorts by position and counts severities', () => {
    const w = diag('W0001', span(2, 3, 4), 'unused');
    const e = diag('E0301', span(1, 1, 6), 'bad');
    const text = renderDiagnostics([w, e, e], src);
    expect(text.indexOf('E0301')).toBeLessThan(text.indexOf('W0001'));
    expect(summaryLine([w, e, e])).toBe('2 errors, 1 warning');
    expect(summaryLine([])).toBe('no problems');
  });
  it('color wraps parts in ANSI codes; without color there are none', () => {
    const d = diag('E0301', span(2, 7, 9), 'x');
    expect(renderDiagnostics([d], src, { color: true })).toContain('\x1b[31merror[E0301]\x1b[0m');
    expect(renderDiagnostics([d], src)).not.toContain('\x1b');
  });
  it('a span past the end of its line is clamped; an unknown file has no excerpt', () => {
    expect(renderDiagnostics([diag('E0301', span(3, 5, 9), 'x')], src)).toContain('  3 │ }\n    │  ^\n');
    expect(renderDiagnostics([diag('E0301', span(1, 1, 2, 'b.scion'), 'x')], src)).toBe('b.scion:1:1: error[E0301]: x\n\n1 error\n');
  });
  it('toJson flattens spans and notes', () => {
    const d = diag('E0301', span(2, 7, 9), 'x', { notes: [{ message: 'plain' }] });
    expect(toJson([d])).toEqual([
      {
        file: 'a.scion',
        line: 2,
        column: 7,
        endLine: 2,
        endColumn: 9,
        severity: 'error',
        code: 'E0301',
        message: 'x',
        notes: [{ message: 'plain' }],
        suggestion: null,
      },
    ]);
  });
});

describe('suggest', () => {
  it('Damerau-Levenshtein distances', () => {
    expect(editDistance('heads', 'haeds')).toBe(1); // one transposition
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('ca', 'abc')).toBe(3); // optimal string alignment, not unrestricted
  });
  it('nearest name within the cutoff, preferring case-only differences', () => {
    expect(nearest('haeds', ['dim', 'heads'])).toBe('heads');
    expect(nearest('linear', ['Linear', 'linea'])).toBe('Linear');
    expect(nearest('x', ['y'])).toBeUndefined();
    expect(nearest('optimizr', ['optimizer', 'schedule'])).toBe('optimizer');
    expect(nearest('completely', ['different'])).toBeUndefined();
  });
});

describe('patterns', () => {
  it('`*` matches one segment or part of one; patterns match module prefixes', () => {
    expect(matchesPath('layers.*.self_attn.q_proj', 'layers.3.self_attn.q_proj.weight')).toBe(true);
    expect(matchesPath('blocks.*.attn.*', 'blocks.0.attn.qkv.bias')).toBe(true);
    expect(matchesPath('*.self_attn', 'layers.3.self_attn.q_proj.weight')).toBe(false);
    expect(matchesPath('lay*.3', 'layers.3.mlp')).toBe(true);
    expect(matchesPath('down[1].res', 'down.1.res.0.conv1.weight')).toBe(true);
    expect(matchesPath('layers.3.self_attn.q_proj.weight.x', 'layers.3.self_attn.q_proj.weight')).toBe(false);
  });
  it('malformed patterns', () => {
    expect(patternProblem('a..b')).toMatch(/empty/);
    expect(patternProblem('a/b')).toMatch(/`\/`/);
    expect(patternProblem('')).toMatch(/empty/);
    expect(patternProblem('a.*_x[2]')).toBeUndefined();
  });
  it('nearest pattern keeps wildcards and generalizes indices', () => {
    const paths = ['layers.0.self_attn.q_proj.weight', 'layers.1.self_attn.v_proj.weight', 'norm.weight'];
    expect(nearestPattern('layers.*.self_attn.q_prj', paths)).toBe('layers.*.self_attn.q_proj');
    expect(nearestPattern('*.self_attn.v_proj', paths)).toBe('layers.*.self_attn.v_proj');
  });
});

describe('imports', () => {
  it('paths are relative to the importing file', () => {
    expect(normalizePath('a/./b/../c.scion')).toBe('a/c.scion');
    expect(resolvePath('specs/ba-lora.scion', 'tiny-lm.scion')).toBe('specs/tiny-lm.scion');
    expect(resolvePath('x.scion', '../y.scion')).toBe('../y.scion');
    expect(resolvePath('/r/a/x.scion', '../y.scion')).toBe('/r/y.scion');
  });
  it('a diamond loads each file once, dependencies first', () => {
    const files: Record<string, string> = {
      'd.scion': 'let d = 1\n',
      'b.scion': 'import "d.scion"\nlet b = 1\n',
      'c.scion': 'import "d.scion"\nlet c = 1\n',
    };
    const reads: string[] = [];
    const root = 'import "b.scion"\nimport "c.scion"\nlet a = 1\n';
    const r = resolveImports(parseSource(root, 'a.scion').program, root, (p) => (reads.push(p), files[p]), parseSource);
    expect(reads).toEqual(['b.scion', 'd.scion', 'c.scion']);
    expect(r.decls.map((d) => (d.kind === 'binding' ? d.name.name : '?'))).toEqual(['d', 'b', 'c', 'a']);
    expect(r.diagnostics).toEqual([]);
  });
  it('cycles and missing files are reported at the import', () => {
    const files: Record<string, string> = { 'b.scion': 'import "a.scion"\nimport "gone.scion"\n' };
    const root = 'import "b.scion"\n';
    const r = resolveImports(parseSource(root, 'a.scion').program, root, (p) => files[p], parseSource);
    expect(r.diagnostics.map((d) => [d.code, d.span.file, d.span.start.line])).toEqual([
      ['E0331', 'b.scion', 1],
      ['E0330', 'b.scion', 2],
    ]);
    expect(r.diagnostics[0]!.message).toBe('import cycle: a.scion → b.scion → a.scion');
  });
});
