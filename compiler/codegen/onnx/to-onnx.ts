// Graph IR → ONNX graph: each node reachable from the outputs goes through its ONNX_RULES entry.
// Inputs and outputs keep Scion's names; params become initializers (raw little-endian f32) when
// their weights are given, graph inputs otherwise, or both when named in `inputParams` (a training
// step's state goes in and comes out; the file's values are defaults a caller may override).
// Intermediate values are named `%<id>.<k>` after the IR node that made them (as in the IR's text
// form), constants `%const.<k>`: a `%` never starts a Scion name, so nothing collides.

import type { DType, Graph, Node } from '../../ir/graph.ts';
import type { Op } from '../../ir/ops.ts';
import { ELEM, type ElemType, type OnnxAttr, type OnnxGraph, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnx-proto.ts';
import { foldBatchSums } from './fold-batch-sums.ts';
import { ONNX_RULES, type OnnxCtx } from './onnx-rules.ts';

const ELEM_OF: Record<DType, ElemType> = { f32: ELEM.FLOAT, f16: ELEM.FLOAT16, i32: ELEM.INT32, bool: ELEM.BOOL };

export interface ToOnnxOptions {
  /** Values of params, by name (f32). Params without one are graph inputs. */
  weights?: ReadonlyMap<string, ArrayLike<number>>;
  /** Params that are graph inputs even when weights are given (their initializers are defaults). */
  inputParams?: ReadonlySet<string>;
  name?: string;
  doc?: string;
}

/** An op ONNX cannot express exactly; `reason` says why. */
export class OnnxUnsupported extends Error {
  constructor(
    readonly op: Op,
    readonly reason: string,
  ) {
    super(`ONNX export: op '${op}' cannot be exported: ${reason}`);
  }
}

/** The ops of `graph` (reachable from its outputs) that ONNX_RULES refuses, with the reason. */
export function unsupportedOps(graph: Graph): { op: Op; reason: string }[] {
  const seen = new Set<Op>();
  const out: { op: Op; reason: string }[] = [];
  for (const id of reachable(graph)) {
    const op = (graph.nodes[id] as Node).op;
    const rule = ONNX_RULES[op];
    if ('unsupported' in rule && !seen.has(op)) {
      seen.add(op);
      out.push({ op, reason: rule.unsupported });
    }
  }
  return out;
}

function reachable(graph: Graph): number[] {
  const live = new Uint8Array(graph.nodes.length);
  for (const o of graph.outputs) live[o.node] = 1;
  for (let id = graph.nodes.length - 1; id >= 0; id--) if (live[id]) for (const i of (graph.nodes[id] as Node).inputs) live[i] = 1;
  const ids: number[] = [];
  live.forEach((v, id) => v && ids.push(id));
  return ids;
}

function rawOf(values: ArrayLike<number>, dtype: 'f32' | 'i32' | 'bool' | 'i64' | 'f64'): Uint8Array {
  // Typed arrays are little-endian on every platform Node runs on, as raw_data requires.
  const arr =
    dtype === 'f32'
      ? values instanceof Float32Array
        ? values
        : Float32Array.from(values)
      : dtype === 'i32'
        ? Int32Array.from(values)
        : dtype === 'bool'
          ? Uint8Array.from(values, (v) => (v ? 1 : 0))
          : dtype === 'f64'
            ? Float64Array.from(values)
            : BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

export function toOnnx(source: Graph, opts: ToOnnxOptions = {}): OnnxGraph {
  // Weight gradients as one GEMM each (fold-batch-sums.ts says why only here).
  const graph = foldBatchSums(source);
  const nodes: OnnxNode[] = [];
  // Where emitted nodes go: the graph, or the body of the Loop being built.
  let sink = nodes;
  const initializers: OnnxTensor[] = [];
  const inputs: OnnxValueInfo[] = [];
  const value = new Map<number, string>();
  const consts = new Map<string, string>();
  let current = -1;
  let helper = 0;
  let named = 0;

  const emit = (type: string, ins: readonly string[], count: number, attrs?: Readonly<Record<string, OnnxAttr>>): string[] => {
    const outs = Array.from({ length: count }, () => `%${current}.${helper++}`);
    sink.push({ op: type, inputs: ins, outputs: outs, name: `${type}_${named++}`, ...(attrs === undefined ? {} : { attrs }) });
    return outs;
  };
  const initializer = (key: string, dims: readonly number[], elem: ElemType, raw: Uint8Array): string => {
    const hit = consts.get(key);
    if (hit !== undefined) return hit;
    const name = `%const.${consts.size}`;
    consts.set(key, name);
    initializers.push({ name, dims, elem, raw });
    return name;
  };

  // A graph output names the node that computes it instead of an Identity copy of its value: the
  // train step's logits output copied 8M floats every step, read by nobody on resident steps.
  // The first output of a node claims it; outputs that repeat a value or name a source keep the copy.
  const outputNamed = new Map<number, string>();
  for (const o of graph.outputs) {
    const op = (graph.nodes[o.node] as Node).op;
    if (op !== 'input' && op !== 'param' && !outputNamed.has(o.node)) outputNamed.set(o.node, o.name);
  }
  const namedNodes = new Set<number>();

  for (const id of reachable(graph)) {
    const node = graph.nodes[id] as Node;
    current = id;
    helper = 0;
    const rule = ONNX_RULES[node.op];
    if ('unsupported' in rule) throw new OnnxUnsupported(node.op, rule.unsupported);
    const declare = (name: string): string => {
      if (!inputs.some((v) => v.name === name)) inputs.push({ name, elem: ELEM_OF[node.dtype], shape: node.shape });
      return name;
    };
    const ctx: OnnxCtx = {
      node,
      ins: node.inputs.map((i) => value.get(i) as string),
      inNodes: node.inputs.map((i) => graph.nodes[i] as Node),
      op: (type, ins, attrs) => emit(type, ins, 1, attrs)[0] as string,
      opN: (type, ins, count, attrs) => emit(type, ins, count, attrs),
      i64: (values, dims) => initializer(`i64:${dims ?? 'v'}:${values.join(',')}`, dims ?? [values.length], ELEM.INT64, rawOf(values, 'i64')),
      f64: (v) => initializer(`f64:${v}`, [], ELEM.DOUBLE, rawOf([v], 'f64')),
      constant: (values, dims, dtype) => {
        if (dtype === 'f16') return emit('Cast', [ctx.constant(values, dims, 'f32')], 1, { to: { int: ELEM.FLOAT16 } })[0] as string;
        const list = Array.from(values);
        const key = `${dtype}:${dims.join('x')}:${list.length > 64 ? `node${id}` : list.join(',')}`;
        return initializer(key, dims, ELEM_OF[dtype], rawOf(list, dtype));
      },
      elem: (dtype) => ELEM_OF[dtype],
      loop: (trips, vars, body) => {
        const outer = sink;
        const inner: OnnxNode[] = [];
        sink = inner;
        const fresh = (): string => `%${current}.${helper++}`;
        const iter = fresh();
        const goIn = fresh();
        const current_ = vars.map(fresh);
        const r = body(iter, current_);
        // Body outputs are values its own nodes make (an Identity even where a value is passed through).
        const outs = [r.go, ...r.next].map((v) => emit('Identity', [v], 1)[0] as string);
        sink = outer;
        const shaped = (name: string, v: { elem: number; shape: readonly number[] }): OnnxValueInfo => ({ name, elem: v.elem as ElemType, shape: v.shape });
        const boolScalar = { elem: ELEM.BOOL, shape: [] };
        const graph: OnnxGraph = {
          name: `loop_${current}_${named}`,
          nodes: inner,
          initializers: [],
          inputs: [shaped(iter, { elem: ELEM.INT64, shape: [] }), shaped(goIn, boolScalar), ...vars.map((v, k) => shaped(current_[k] as string, v))],
          outputs: [shaped(outs[0] as string, boolScalar), ...vars.map((v, k) => shaped(outs[k + 1] as string, v))],
        };
        const go = ctx.constant([1], [], 'bool');
        return emit('Loop', [ctx.i64([trips], []), go, ...vars.map((v) => v.init)], vars.length, { body: { graph } });
      },
      graphInput: () => declare(node.attrs['name'] as string),
      param: () => {
        const name = node.attrs['name'] as string;
        const w = opts.weights?.get(name);
        if (w !== undefined) {
          if (w.length !== node.shape.reduce((p, d) => p * d, 1))
            throw new Error(`ONNX export: weights of '${name}' have ${w.length} values, shape [${node.shape.join(', ')}]`);
          if (node.dtype !== 'f32') throw new Error(`ONNX export: param '${name}' is ${node.dtype}; only f32 weights are written`);
          initializers.push({ name, dims: node.shape, elem: ELEM.FLOAT, raw: rawOf(w, 'f32') });
          if (opts.inputParams?.has(name) !== true) return name;
        }
        return declare(name);
      },
    };
    const first = nodes.length;
    let v = rule.emit(ctx);
    const outName = outputNamed.get(id);
    // Only a value this node's own top-level nodes made (not an input, a constant or a Loop body's).
    if (outName !== undefined && v.startsWith(`%${id}.`) && nodes.slice(first).some((n) => n.outputs.includes(v))) {
      const was = v;
      const rename = (names: readonly string[]): string[] => names.map((x) => (x === was ? outName : x));
      for (let k = first; k < nodes.length; k++) {
        const n = nodes[k] as OnnxNode;
        nodes[k] = { ...n, inputs: rename(n.inputs), outputs: rename(n.outputs) };
      }
      v = outName;
      namedNodes.add(id);
    }
    value.set(id, v);
  }

  const outputs: OnnxValueInfo[] = [];
  const taken = new Set([...inputs.map((v) => v.name), ...initializers.map((t) => t.name)]);
  for (const o of graph.outputs) {
    if (taken.has(o.name)) throw new Error(`ONNX export: output '${o.name}' has the name of an input or parameter; ONNX names each value once`);
    const node = graph.nodes[o.node] as Node;
    if (!(namedNodes.has(o.node) && value.get(o.node) === o.name))
      nodes.push({ op: 'Identity', inputs: [value.get(o.node) as string], outputs: [o.name], name: `output_${outputs.length}` });
    outputs.push({ name: o.name, elem: ELEM_OF[node.dtype], shape: node.shape });
  }
  return { name: opts.name ?? 'scion', nodes, initializers, inputs, outputs, ...(opts.doc === undefined ? {} : { doc: opts.doc }) };
}
