// The stable text form of the IR, and its parser (pass tests read "IR in → IR out" as text).
//
//   %0: f32[2,3] = input {name="x"}
//   %1: f32[3,4] = param {name="lin.weight", trainable=true}
//   %2: f32[2,4] = matmul %0, %1   # spec.scion:12:5
//   output "y" = %2
//
// Source ops omit their `shape`/`dtype` attrs: they equal the node's type and are restored on
// parse. Spans print as `file:line:col` (start only), so a parsed span has end = start and
// offset 0; everything else round-trips exactly.

import type { Span } from '../../grammar/ast.ts';
import { fmtAttr, fmtNum, GraphBuilder } from './builder.ts';
import type { AttrValue, DType, Graph, Node } from './graph.ts';
import { OP_INFO, OPS, type Op } from './ops.ts';

export class IrParseError extends Error {
  override name = 'IrParseError';
}

const TYPED_SOURCES: ReadonlySet<Op> = new Set(['input', 'param', 'constant', 'full', 'iota']);

export function formatSpan(s: Span): string {
  return `${s.file}:${s.start.line}:${s.start.col}`;
}

export function printNode(n: Node): string {
  const attrs = OP_INFO[n.op].attrs
    .filter((k) => !(TYPED_SOURCES.has(n.op) && (k === 'shape' || k === 'dtype')))
    .map((k) => `${k}=${fmtAttr(n.attrs[k] as AttrValue)}`);
  let line = `%${n.id}: ${n.dtype}[${n.shape.join(',')}] = ${n.op}`;
  if (n.inputs.length) line += ' ' + n.inputs.map((i) => `%${i}`).join(', ');
  if (attrs.length) line += ` {${attrs.join(', ')}}`;
  if (n.span) line += `   # ${formatSpan(n.span)}`;
  return line;
}

export function printGraph(g: Graph): string {
  const lines = g.nodes.map(printNode);
  for (const o of g.outputs) lines.push(`output ${JSON.stringify(o.name)} = %${o.node}`);
  return lines.join('\n') + '\n';
}

// ── parser ──

class Cursor {
  pos = 0;
  constructor(
    readonly text: string,
    readonly line: number,
  ) {}
  err(msg: string): never {
    throw new IrParseError(`line ${this.line}: ${msg} at column ${this.pos + 1}: ${this.text}`);
  }
  ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }
  eat(s: string): boolean {
    this.ws();
    if (this.text.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }
  expect(s: string): void {
    if (!this.eat(s)) this.err(`expected '${s}'`);
  }
  match(re: RegExp): string | undefined {
    this.ws();
    const m = re.exec(this.text.slice(this.pos));
    if (!m || m.index !== 0) return undefined;
    this.pos += m[0].length;
    return m[0];
  }
  done(): boolean {
    this.ws();
    return this.pos >= this.text.length;
  }
}

const NUM_RE = /^(-?inf|nan|-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)/;

function parseNum(c: Cursor): number {
  const t = c.match(NUM_RE) ?? c.err('expected a number');
  if (t === 'nan') return NaN;
  if (t === 'inf') return Infinity;
  if (t === '-inf') return -Infinity;
  return Number(t);
}

function parseValue(c: Cursor): AttrValue {
  if (c.eat('[')) {
    const xs: number[] = [];
    if (c.eat(']')) return xs;
    do xs.push(parseNum(c));
    while (c.eat(','));
    c.expect(']');
    return xs;
  }
  const str = c.match(/^"(?:[^"\\]|\\.)*"/);
  if (str !== undefined) return JSON.parse(str) as string;
  if (c.eat('true')) return true;
  if (c.eat('false')) return false;
  return parseNum(c);
}

function parseSpan(text: string): Span {
  const m = /^(.*):(\d+):(\d+)$/.exec(text.trim());
  if (!m) throw new IrParseError(`bad span comment '${text}'`);
  const pos = { line: Number(m[2]), col: Number(m[3]), offset: 0 };
  return { file: m[1] as string, start: pos, end: pos };
}

/** Parses the text form back into a graph; node ids are renumbered densely in order. */
export function parseGraph(text: string): Graph {
  const b = new GraphBuilder();
  const byName = new Map<number, Node>();
  text.split('\n').forEach((raw, i) => {
    const commentAt = findComment(raw);
    const body = (commentAt >= 0 ? raw.slice(0, commentAt) : raw).trim();
    const comment = commentAt >= 0 ? raw.slice(commentAt + 1).trim() : '';
    if (!body) return;
    const c = new Cursor(body, i + 1);
    if (c.eat('output')) {
      const name = c.match(/^"(?:[^"\\]|\\.)*"/) ?? c.err('expected a quoted output name');
      c.expect('=');
      c.expect('%');
      const id = Number(c.match(/^\d+/) ?? c.err('expected a node id'));
      b.output(JSON.parse(name) as string, byName.get(id) ?? c.err(`undefined %${id}`));
      return;
    }
    c.expect('%');
    const id = Number(c.match(/^\d+/) ?? c.err('expected a node id'));
    if (byName.has(id)) c.err(`%${id} defined twice`);
    c.expect(':');
    const dtype = (c.match(/^(f32|f16|i32|bool)/) ?? c.err('expected a dtype')) as DType;
    const shape = parseValue(c);
    if (!Array.isArray(shape)) c.err('expected a shape');
    c.expect('=');
    const opText = c.match(/^[a-z_0-9]+/) ?? '';
    const op = OPS.find((o) => o === opText) ?? c.err(`unknown op '${opText}'`);
    const inputs: Node[] = [];
    if (c.eat('%')) {
      do {
        if (inputs.length) c.expect('%');
        const j = Number(c.match(/^\d+/) ?? c.err('expected an operand id'));
        inputs.push(byName.get(j) ?? c.err(`operand %${j} is not defined above`));
      } while (c.eat(','));
    }
    const attrs: Record<string, AttrValue> = {};
    if (c.eat('{')) {
      if (!c.eat('}')) {
        do {
          const k = c.match(/^[a-z_0-9]+/) ?? c.err('expected an attr name');
          c.expect('=');
          attrs[k] = parseValue(c);
        } while (c.eat(','));
        c.expect('}');
      }
    }
    if (!c.done()) c.err('unexpected text');
    if (TYPED_SOURCES.has(op)) {
      attrs['shape'] = shape as number[];
      if (OP_INFO[op].attrs.includes('dtype')) attrs['dtype'] = dtype;
    }
    const node = b.withSpan(comment ? parseSpan(comment) : undefined, () => b.apply(op, inputs, attrs));
    if (node.dtype !== dtype || node.shape.join() !== (shape as number[]).join()) {
      c.err(`declared ${dtype}[${(shape as number[]).map(fmtNum).join(',')}] but ${op} gives ${node.dtype}[${node.shape.join(',')}]`);
    }
    byName.set(id, node);
  });
  return b.build();
}

/** Index of the `#` that starts a comment (outside string literals), or -1. */
function findComment(line: string): number {
  let inStr = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inStr) {
      if (ch === '\\') i++;
      else if (ch === '"') inStr = false;
    } else if (ch === '"') inStr = true;
    else if (ch === '#') return i;
  }
  return -1;
}
