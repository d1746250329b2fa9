// Builder hash-consing, the text form round trip, and verifier failure output.

import { describe, expect, it } from 'vitest';
import type { Span } from '../../../grammar/ast.ts';
import { GraphBuilder } from '../../../compiler/ir/builder.ts';
import type { Graph } from '../../../compiler/ir/graph.ts';
import { IrTypeError } from '../../../compiler/ir/shape-rules.ts';
import { parseGraph, printGraph } from '../../../compiler/ir/text.ts';
import { IrVerifyError, verifyGraph } from '../../../compiler/ir/verify.ts';

const span = (line: number, col: number): Span => ({ file: 'spec.scion', start: { line, col, offset: 0 }, end: { line, col, offset: 0 } });

describe('GraphBuilder', () => {
  it('hash-conses: equal nodes are identical, constants are hashed by value', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3]);
    const w = b.param('w', [3, 4]);
    expect(b.matmul(x, w)).toBe(b.matmul(x, w));
    expect(b.constant([1, 2], [2])).toBe(b.constant([1, 2], [2]));
    expect(b.constant([1, 2], [2])).not.toBe(b.constant([1, 3], [2]));
    expect(b.add(x, 1)).toBe(b.add(x, 1)); // the lifted scalar is shared too
    expect(b.sum(x, [1, 0])).toBe(b.sum(x)); // axes are normalised
    expect(b.input('x', [2, 3])).toBe(x);
    expect(b.nodes.length).toBe(8); // x, w, matmul, two constants, scalar 1, add, sum
  });
  it('gives each random call its own stream', () => {
    const b = new GraphBuilder();
    const k = b.input('key', [2], 'i32');
    expect(b.randomNormal(k, [3])).not.toBe(b.randomNormal(k, [3]));
    expect(b.randomNormal(k, [3], 9)).toBe(b.randomNormal(k, [3], 9));
  });
  it('derives dtype and shape, and rejects ill-typed nodes', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3]);
    const y = b.matmul(x, b.param('w', [3, 5]));
    expect([y.dtype, y.shape]).toEqual(['f32', [2, 5]]);
    expect(b.lt(x, 0).dtype).toBe('bool');
    expect(() => b.matmul(x, x)).toThrow(IrTypeError);
    expect(() => b.add(x, b.input('z', [4]))).toThrow(/do not broadcast/);
    expect(() => b.param('w', [3, 6])).toThrow(/declared twice/);
  });
  it('keeps the first span under hash-consing and spans nested builds', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2]);
    const e = b.withSpan(span(3, 5), () => b.exp(x));
    expect(e.span?.start.line).toBe(3);
    expect(b.withSpan(span(9, 1), () => b.exp(x)).span?.start.line).toBe(3);
    expect(x.span).toBeUndefined();
  });
  it('prunes dead nodes on request', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2]);
    b.exp(x);
    b.output('y', b.neg(x));
    expect(b.build({ prune: true }).nodes.map((n) => n.op)).toEqual(['input', 'neg']);
  });
});

const SAMPLE = `%0: f32[2,3] = input {name="x"}
%1: f32[4,3] = param {name="layers.0.q_proj.weight", trainable=false}
%2: f32[3,4] = permute %1 {perm=[1,0]}
%3: f32[2,4] = matmul %0, %2   # spec.scion:12:5
%4: f32[] = full {value=-inf}
%5: bool[2,4] = gt %3, %4
%6: f32[2,4] = where %5, %3, %4
%7: f32[2] = reduce_sum %6 {axes=[1], keepdim=false}
%8: f32[2,2] = constant {data=[1,0.5,-2,1e-7]}
output "y" = %7
output "c" = %8
`;

describe('text form', () => {
  it('prints the documented line format', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 64]);
    const w = b.param('w', [64, 64]);
    b.output(
      'y',
      b.withSpan(span(12, 5), () => b.matmul(x, w)),
    );
    expect(printGraph(b.build())).toBe(
      '%0: f32[2,64] = input {name="x"}\n%1: f32[64,64] = param {name="w", trainable=true}\n%2: f32[2,64] = matmul %0, %1   # spec.scion:12:5\noutput "y" = %2\n',
    );
  });
  it('round-trips text → graph → text exactly', () => {
    const g = parseGraph(SAMPLE);
    verifyGraph(g);
    expect(printGraph(g)).toBe(SAMPLE);
    expect(g.nodes[4]?.attrs['value']).toBe(-Infinity);
    expect(g.nodes[3]?.span?.start).toEqual({ line: 12, col: 5, offset: 0 });
  });
  it('round-trips graph → text → graph (ids, ops, attrs, types)', () => {
    const g = parseGraph(SAMPLE);
    const g2 = parseGraph(printGraph(g));
    const strip = (x: Graph) => x.nodes.map(({ span: _s, ...rest }) => rest);
    expect(strip(g2)).toEqual(strip(g));
    expect(g2.outputs).toEqual(g.outputs);
  });
  it('rejects a declared type that the op does not give', () => {
    expect(() => parseGraph('%0: f32[2] = input {name="x"}\n%1: f32[3] = exp %0\n')).toThrow(/line 2: declared f32\[3\] but exp gives f32\[2\]/);
    expect(() => parseGraph('%0: f32[2] = exp %7\n')).toThrow(/operand %7 is not defined above/);
    expect(() => parseGraph('%0: f32[2] = frobnicate\n')).toThrow(/unknown op 'frobnicate'/);
  });
});

describe('verifier', () => {
  it('prints a window of IR around the failing node', () => {
    const g = parseGraph(SAMPLE);
    const bad: Graph = { ...g, nodes: g.nodes.map((n) => (n.id === 5 ? { ...n, shape: [2, 5] } : n)) };
    let msg = '';
    try {
      verifyGraph(bad);
    } catch (e) {
      expect(e).toBeInstanceOf(IrVerifyError);
      msg = (e as Error).message;
    }
    expect(msg).toBe(
      [
        'IR verification failed at %5: shape is [2,5] but gt gives [2,4]',
        '    ...',
        '    %2: f32[3,4] = permute %1 {perm=[1,0]}',
        '    %3: f32[2,4] = matmul %0, %2   # spec.scion:12:5',
        '    %4: f32[] = full {value=-inf}',
        '>>> %5: bool[2,5] = gt %3, %4',
        '    %6: f32[2,4] = where %5, %3, %4',
        '    %7: f32[2] = reduce_sum %6 {axes=[1], keepdim=false}',
        '    %8: f32[2,2] = constant {data=[1,0.5,-2,1e-7]}',
      ].join('\n'),
    );
  });
  it('catches use before definition, missing outputs and duplicate names', () => {
    const g = parseGraph(SAMPLE);
    const early: Graph = { ...g, nodes: g.nodes.map((n) => (n.id === 2 ? { ...n, inputs: [3] } : n)) };
    expect(() => verifyGraph(early)).toThrow(/at %2: operand %3 is not defined before use/);
    expect(() => verifyGraph({ ...g, outputs: [{ name: 'z', node: 42 }] })).toThrow(/output 'z' names missing node %42/);
    expect(() => verifyGraph({ ...g, outputs: [] })).toThrow(/no outputs/);
    expect(() => verifyGraph({ ...g, outputs: [...g.outputs, { name: 'y', node: 1 }] })).toThrow(/output 'y' declared twice/);
  });
});
