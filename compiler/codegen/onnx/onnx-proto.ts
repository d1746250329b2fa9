// The ONNX model as plain data, and its protobuf encoding (field numbers from onnx.proto:
// ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto,
// TensorShapeProto, OperatorSetIdProto). IR version 8, opset 17 of the default domain ai.onnx.
// A protobuf message cannot exceed 2 GB, so past `externalAbove` bytes of initializers the
// tensors go to a side file (ONNX external data: location, offset, length on each tensor).

import { ProtoWriter } from './protobuf.ts';

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

/** TensorProto.DataType values Scion uses. */
export const ELEM = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
export type ElemType = (typeof ELEM)[keyof typeof ELEM];

export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly elem: ElemType;
  /** Little-endian element bytes (raw_data). */
  readonly raw: Uint8Array;
}

export type OnnxAttr =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly string: string }
  | { readonly tensor: OnnxTensor }
  /** A subgraph (Loop's body); it may read values of the enclosing graph by name. */
  | { readonly graph: OnnxGraph };

export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name: string;
  readonly attrs?: Readonly<Record<string, OnnxAttr>>;
}

export interface OnnxValueInfo {
  readonly name: string;
  readonly elem: ElemType;
  readonly shape: readonly number[];
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly doc?: string;
}

export interface EncodeOptions {
  producer?: string;
  /** Initializers go to external data when their total exceeds this many bytes (default 1.9 GB). */
  externalAbove?: number;
  /** File name (relative to the model) of the external data; required when it is used. */
  externalLocation?: string;
}

export interface EncodedModel {
  readonly model: Uint8Array;
  /** The external data file's parts in order (absent when every tensor is inline). */
  readonly external?: readonly Uint8Array[];
}

/** 2 GB is protobuf's hard limit; stay clear of it with the graph and header around the weights. */
export const EXTERNAL_DATA_ABOVE = 1.9e9;

export function encodeModel(g: OnnxGraph, opts: EncodeOptions = {}): EncodedModel {
  const weightBytes = g.initializers.reduce((s, t) => s + t.raw.byteLength, 0);
  const external = weightBytes > (opts.externalAbove ?? EXTERNAL_DATA_ABOVE);
  if (external && opts.externalLocation === undefined) {
    throw new Error(`ONNX export: ${weightBytes} bytes of weights need an external data file, and no location was given`);
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  const graph = graphProto(g, (t) => {
    // Small tensors (shapes, axes, scalars) stay inline, as onnx's own writer keeps them.
    if (!external || t.raw.byteLength < 1024) return undefined;
    // External data offsets aligned to 64 bytes (what onnx's own writer does for mmap).
    const pad = (64 - (offset % 64)) % 64;
    if (pad > 0) parts.push(new Uint8Array(pad));
    offset += pad;
    const at = { location: opts.externalLocation as string, offset, length: t.raw.byteLength };
    parts.push(t.raw);
    offset += t.raw.byteLength;
    return at;
  });
  const model = new ProtoWriter()
    .varint(1, ONNX_IR_VERSION)
    .string(2, opts.producer ?? 'scion')
    .string(3, '0.1.0')
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').varint(2, ONNX_OPSET));
  return external ? { model: model.finish(), external: parts } : { model: model.finish() };
}

type ExternalAt = { location: string; offset: number; length: number };

/** GraphProto: node 1, name 2, initializer 5, doc_string 10, input 11, output 12. */
function graphProto(g: OnnxGraph, externalOf: (t: OnnxTensor) => ExternalAt | undefined = () => undefined): ProtoWriter {
  const graph = new ProtoWriter();
  for (const n of g.nodes) graph.message(1, nodeProto(n));
  graph.string(2, g.name);
  for (const t of g.initializers) graph.message(5, tensorProto(t, externalOf(t)));
  if (g.doc !== undefined) graph.string(10, g.doc);
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  return graph;
}

function nodeProto(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.op);
  for (const [name, a] of Object.entries(n.attrs ?? {})) w.message(5, attrProto(name, a));
  return w;
}

/** AttributeProto: name 1, f 2, i 3, s 4, t 5, g 6, floats 7, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, TENSOR 4, GRAPH 5, FLOATS 6, INTS 7). */
function attrProto(name: string, a: OnnxAttr): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if ('int' in a) return w.varint(3, a.int).varint(20, 2);
  if ('float' in a) return w.float(2, a.float).varint(20, 1);
  if ('string' in a) return w.string(4, a.string).varint(20, 3);
  if ('tensor' in a) return w.message(5, tensorProto(a.tensor)).varint(20, 4);
  if ('graph' in a) return w.message(6, graphProto(a.graph)).varint(20, 5);
  if ('ints' in a) {
    for (const v of a.ints) w.varint(8, v);
    return w.varint(20, 7);
  }
  for (const v of a.floats) w.float(7, v);
  return w.varint(20, 6);
}

/** TensorProto: dims 1, data_type 2, name 8, raw_data 9, external_data 13, data_location 14. */
function tensorProto(t: OnnxTensor, ext?: ExternalAt): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d);
  w.varint(2, t.elem).string(8, t.name);
  if (ext === undefined) return w.bytes(9, t.raw);
  const entry = (k: string, v: string): ProtoWriter => new ProtoWriter().string(1, k).string(2, v);
  w.message(13, entry('location', ext.location));
  w.message(13, entry('offset', String(ext.offset)));
  w.message(13, entry('length', String(ext.length)));
  return w.varint(14, 1);
}

/** ValueInfoProto { name 1, type 2 { tensor_type 1 { elem_type 1, shape 2 { dim 1 { dim_value 1 } } } } }. */
function valueInfo(v: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) shape.message(1, new ProtoWriter().varint(1, d));
  const tensorType = new ProtoWriter().varint(1, v.elem).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}
