// The .scion parser: the example specs, the shapes of expressions and declarations, exact spans,
// literals, soft keywords and comment attachment.

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Decl, Expr, ModelDecl, TrainDecl } from '../../../grammar/ast.ts';
import { stripSpans } from '../../../grammar/ast-utils.ts';
import { parseExpr, parseProgram } from '../../../grammar/dsl/parse.ts';

const SPECS = readdirSync('specs').filter((f) => f.endsWith('.scion'));

function expr(text: string): Expr {
  const r = parseExpr(text, 'e');
  expect(r.diagnostics).toEqual([]);
  return r.expr!;
}

/** A compact S-expression of an expression, so expected trees are easy to write by hand. */
function sx(e: Expr): string {
  switch (e.kind) {
    case 'num':
      return String(e.value);
    case 'str':
      return JSON.stringify(e.value);
    case 'bool':
      return String(e.value);
    case 'ref':
      return e.path.map((s, i) => (s.kind === 'name' ? (i === 0 ? s.name : `.${s.name}`) : `[${sx(s.index)}]`)).join('');
    case 'call':
      return `(call ${sx(e.callee)}${e.args.map((a) => ` ${a.name === undefined ? '' : `${a.name}=`}${sx(a.value)}`).join('')})`;
    case 'binary':
      return `(${e.op} ${sx(e.left)} ${sx(e.right)})`;
    case 'unary':
      return `(${e.op} ${sx(e.arg)})`;
    case 'range':
      return `(.. ${sx(e.start)} ${sx(e.end)})`;
    case 'tuple':
      return `(tuple${e.items.map((i) => ` ${sx(i)}`).join('')})`;
    case 'list':
      return `[${e.items.map(sx).join(' ')}]`;
    case 'record':
      return `{${e.fields.map((f) => `${f.key}=${sx(f.value)}`).join(' ')}}`;
    case 'named':
      return `(as ${sx(e.value)} ${sx(e.path)})`;
    case 'frozen':
      return `(frozen ${sx(e.model)})`;
  }
}

describe('example specs', () => {
  it.each(SPECS)('%s parses without diagnostics', (f) => {
    const r = parseProgram(readFileSync(`specs/${f}`, 'utf8'), f);
    expect(r.diagnostics).toEqual([]);
    expect(r.program.decls.length).toBeGreaterThan(0);
  });

  it('tiny-lm has the declarations in source order, with their details', () => {
    const { program } = parseProgram(readFileSync('specs/tiny-lm.scion', 'utf8'), 'tiny-lm.scion');
    expect(program.decls.map((d: Decl) => d.kind)).toEqual(['model', 'derived', 'binding', 'inherit', 'train', 'train']);
    const llama = program.decls[0] as ModelDecl;
    expect(llama.params.map((p) => `${p.name.name}=${p.default === undefined ? '' : sx(p.default)}`)).toEqual([
      'vocab=4096',
      'dim=256',
      'depth=8',
      'heads=8',
      'kv_heads=4',
      'ffn=688',
      'ctx=128',
    ]);
    expect(llama.preset?.name).toBe('llama');
    const rep = llama.body[4]!;
    expect(rep.kind).toBe('repeat');
    if (rep.kind !== 'repeat') return;
    expect(sx(rep.range)).toBe('(.. 0 depth)');
    expect(rep.body.map((s) => (s.kind === 'let' ? `${s.name.name} = ${sx(s.value)}` : s.kind))).toEqual([
      'a = (as (call RMSNorm h) layers[i].input_layernorm)',
      'h = (+ h (as (call Attention a heads kv_heads=kv_heads rope=true causal=true) layers[i].self_attn))',
      'm = (as (call RMSNorm h) layers[i].post_attention_layernorm)',
      'h = (+ h (as (call SwiGLU m ffn) layers[i].mlp))',
    ]);
    const tiny = program.decls[5] as TrainDecl;
    expect(tiny.fields.map((f) => f.key)).toEqual(['data', 'calib', 'loss', 'optimizer', 'schedule', 'steps', 'batch', 'rounds', 'seed']);
    expect(sx(tiny.fields[2]!.value)).toBe('(call cross_entropy logits (call next tokens))');
    expect(sx(tiny.fields[7]!.value)).toBe('{count=2 sample=0.5 weight=(call softmax loss)}');
  });
});

describe('expressions', () => {
  it.each([
    ['h + F(x) as p', '(+ h (as (call F x) p))'],
    ['a + b * c - d', '(- (+ a (* b c)) d)'],
    ['-a ** b', '(- (** a b))'],
    ['a ** b ** c', '(** a (** b c))'],
    ['a ** -b', '(** a (- b))'],
    ['2 * -3 + 1', '(+ (* 2 (- 3)) 1)'],
    ['!a && b || c', '(|| (&& (! a) b) c)'],
    ['Small when t > 600', '(when Small (> t 600))'],
    ['a == b && c != d', '(&& (== a b) (!= c d))'],
    ['0..depth + 1', '(.. 0 (+ depth 1))'],
    ['a % b == 0', '(== (% a b) 0)'],
    ['Embedding(vocab, dim)(tokens) as embed_tokens', '(as (call (call Embedding vocab dim) tokens) embed_tokens)'],
    ['layers[i + 1].self_attn', 'layers[(+ i 1)].self_attn'],
    ['teacher.logits', 'teacher.logits'],
    ['(a, b)', '(tuple a b)'],
    ['(a,)', '(tuple a)'],
    ['()', '(tuple)'],
    ['(a)', 'a'],
    ['[1, 2, 3,]', '[1 2 3]'],
    ['{ every = 100, "quoted key" = x; keep = 2 }', '{every=100 quoted key=x keep=2}'],
    ['Llama frozen', '(frozen Llama)'],
    ['ramp(from = 0, to = 0.03, steps = 100)', '(call ramp from=0 to=0.03 steps=100)'],
    ['brown(split = train).sample', '(call brown split=train)'],
  ])('%s', (text, want) => {
    if (text.endsWith('.sample')) {
      // `.name` on a call is not a name path: reported, and the call kept.
      const r = parseExpr(text, 'e');
      expect(r.diagnostics.map((d) => d.code)).toEqual(['E0107']);
      return;
    }
    expect(sx(expr(text))).toBe(want);
  });

  it('soft keywords are names wherever a name is expected', () => {
    expect(sx(expr('f(model = train, sample = input.output)'))).toBe('(call f model=train sample=input.output)');
  });

  it('reads numbers with suffixes and keeps their text', () => {
    const cases: [string, number, boolean][] = [
      ['2k', 2000, true],
      ['1.5M', 1_500_000, true],
      ['3G', 3e9, true],
      ['1e-4', 0.0001, false],
      ['0.5', 0.5, false],
      ['42', 42, true],
      ['1.1k', 1100, true],
      ['1.0001k', 1000.1, false],
      ['2.5e-1k', 250, true],
    ];
    for (const [text, value, isInt] of cases) expect(stripSpans(expr(text))).toEqual({ kind: 'num', value, text, isInt });
  });

  it('decodes string escapes', () => {
    const e = expr(String.raw`"a\"b\\c\nd\te\u{1F600}\u{41}"`);
    expect(e).toMatchObject({ kind: 'str', value: 'a"b\\c\nd\te\u{1F600}A' });
  });
});

describe('spans', () => {
  it('are exact, 1-based lines and columns with 0-based offsets, end exclusive', () => {
    const text = 'model M(d = 4) {\n  h = f(x,  y = 2k)\n}\n';
    const m = parseProgram(text, 'm.scion').program.decls[0] as ModelDecl;
    expect(m.span).toEqual({ file: 'm.scion', start: { line: 1, col: 1, offset: 0 }, end: { line: 3, col: 2, offset: 38 } });
    const stmt = m.body[0]!;
    expect(stmt.span.start).toEqual({ line: 2, col: 3, offset: 19 });
    expect(stmt.span.end).toEqual({ line: 2, col: 20, offset: 36 });
    if (stmt.kind !== 'let' || stmt.value.kind !== 'call') throw new Error('expected a call');
    const arg = stmt.value.args[1]!;
    expect(text.slice(arg.span.start.offset, arg.span.end.offset)).toBe('y = 2k');
    expect(text.slice(arg.nameSpan!.start.offset, arg.nameSpan!.end.offset)).toBe('y');
    expect(text.slice(arg.value.span.start.offset, arg.value.span.end.offset)).toBe('2k');
  });

  it('cover parentheses of an operand, not of the inner node', () => {
    const text = '(a + b) * c';
    const e = expr(text);
    if (e.kind !== 'binary') throw new Error('expected binary');
    expect([e.span.start.offset, e.span.end.offset]).toEqual([0, 11]);
    expect([e.left.span.start.offset, e.left.span.end.offset]).toEqual([1, 6]);
  });

  it('parseExpr maps offsets through `locate`', () => {
    const r = parseExpr('a + ', 'x.yaml', (i) => ({ line: 7, col: 10 + i, offset: 100 + i }));
    expect(r.expr).toBeUndefined();
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]!.span.start).toEqual({ line: 7, col: 13, offset: 103 });
  });
});

describe('declarations and statements', () => {
  it('reads every construct', () => {
    const text = [
      'import "lib.scion"',
      'layer SwiGLU(x, hidden) {',
      '  param w: f32[dim(x), hidden] = normal(std = 0.02)',
      '  let y = x',
      '  require hidden > 0',
      '  return y * w',
    ].join('\n');
    const r = parseProgram(text + '\n}\nprune UNet { x = 1 }; adapter A on B {}\nsample S {}', 'x.scion');
    expect(r.diagnostics).toEqual([]);
    expect(r.program.imports.map((i) => i.path.value)).toEqual(['lib.scion']);
    expect(r.program.decls.map((d) => d.kind)).toEqual(['layer', 'prune', 'adapter', 'sample']);
    const layer = r.program.decls[0]!;
    if (layer.kind !== 'layer') throw new Error('expected layer');
    expect(layer.body.map((s) => s.kind)).toEqual(['param', 'let', 'require', 'return']);
    const param = layer.body[0]!;
    if (param.kind !== 'param') throw new Error('expected param');
    expect(param.type.dtype).toBe('f32');
    expect(param.type.shape.map(sx)).toEqual(['(call dim x)', 'hidden']);
    expect(sx(param.init!)).toBe('(call normal std=0.02)');
    const prune = r.program.decls[1]!;
    expect(prune.kind === 'prune' && prune.to === undefined).toBe(true);
  });

  it('model = Base(args), inherit … at, prune … to', () => {
    const r = parseProgram('model Tiny = Llama(dim = 192)\ninherit Tiny from Llama at "p.safetensors" { except = ["a.*"] }\nprune U to S { }', 'x');
    expect(r.diagnostics).toEqual([]);
    const [derived, inherit, prune] = r.program.decls;
    expect(derived).toMatchObject({ kind: 'derived', name: { name: 'Tiny' }, base: { name: 'Llama' }, args: [{ name: 'dim' }] });
    expect(inherit).toMatchObject({ kind: 'inherit', child: { name: 'Tiny' }, parent: { name: 'Llama' }, at: { value: 'p.safetensors' } });
    expect(prune).toMatchObject({ kind: 'prune', model: { name: 'U' }, to: { name: 'S' }, fields: [] });
  });
});

describe('comments', () => {
  it('attach as header, leading, trailing and program trailing comments', () => {
    const text = [
      '// file header',
      '',
      '// about M',
      'model M {  // M itself',
      '  // about h',
      '  h = 1  // h itself',
      '  repeat i in 0..2 {',
      '    //no space',
      '    g = h',
      '  }',
      '  // dangling at the end of the body',
      '}',
      '',
      '// at the end',
    ].join('\n');
    const { program, diagnostics } = parseProgram(text, 'c.scion');
    expect(diagnostics).toEqual([]);
    expect(program.header).toEqual(['file header']);
    expect(program.trailingComments).toEqual(['dangling at the end of the body', 'at the end']);
    const m = program.decls[0] as ModelDecl;
    expect([m.leading, m.trailing]).toEqual([['about M'], 'M itself']);
    expect([m.body[0]!.leading, m.body[0]!.trailing]).toEqual([['about h'], 'h itself']);
    const rep = m.body[1]!;
    if (rep.kind !== 'repeat') throw new Error('expected repeat');
    expect(rep.body[0]!.leading).toEqual(['no space']);
  });

  it('a comment block directly above the first declaration is its leading comment, not a header', () => {
    const { program } = parseProgram('// one\n// two\nlet a = 1\n', 'c');
    expect(program.header).toBeUndefined();
    expect(program.decls[0]!.leading).toEqual(['one', 'two']);
  });
});
