// A minimal ONNX model writer: just enough protobuf to describe a graph of standard ops on f32
// tensors, so onnxruntime-node can run a peer workload without a model file or a protobuf
// dependency. Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto,
// ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).

const ELEM_FLOAT = 1; // TensorProto.DataType.FLOAT
const IR_VERSION = 8;
const OPSET = 17;

/** Protobuf wire-format writer for the few field kinds ONNX needs. */
class Writer {
  private readonly bytes: number[] = [];

  varint(field: number, value: number): this {
    this.key(field, 0);
    this.raw(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes_(field, new TextEncoder().encode(value));
  }

  message(field: number, body: Writer): this {
    return this.bytes_(field, body.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }

  private bytes_(field: number, data: Uint8Array): this {
    this.key(field, 2);
    this.raw(data.length);
    for (const byte of data) this.bytes.push(byte);
    return this;
  }

  private key(field: number, wireType: number): void {
    this.raw(field * 8 + wireType);
  }

  /** Unsigned varint; sizes and versions here stay far below 2^53. */
  private raw(value: number): void {
    let v = value;
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
  }
}

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
}

export interface OnnxValue {
  name: string;
  shape: readonly number[];
}

function valueInfo(value: OnnxValue): Writer {
  const shape = new Writer();
  for (const dim of value.shape) shape.message(1, new Writer().varint(1, dim)); // Dimension.dim_value
  const tensorType = new Writer().varint(1, ELEM_FLOAT).message(2, shape);
  return new Writer().string(1, value.name).message(2, new Writer().message(1, tensorType));
}

/** Serialized ModelProto of one graph over f32 inputs and outputs with static shapes. */
export function onnxModel(name: string, nodes: readonly OnnxNode[], inputs: readonly OnnxValue[], outputs: readonly OnnxValue[]): Uint8Array {
  const graph = new Writer();
  nodes.forEach((node, i) => {
    const n = new Writer();
    for (const input of node.inputs) n.string(1, input);
    for (const output of node.outputs) n.string(2, output);
    n.string(3, `${node.op.toLowerCase()}_${i}`).string(4, node.op);
    graph.message(1, n);
  });
  graph.string(2, name);
  for (const input of inputs) graph.message(11, valueInfo(input));
  for (const output of outputs) graph.message(12, valueInfo(output));
  const model = new Writer().varint(1, IR_VERSION).string(2, 'scion-bench').message(7, graph).message(8, new Writer().string(1, '').varint(2, OPSET));
  return model.finish();
}

/** C[M, N] = A[M, K] · B[K, N]. */
export function matmulModel(m: number, n: number, k: number): Uint8Array {
  return onnxModel(
    'matmul',
    [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['C'] }],
    [
      { name: 'A', shape: [m, k] },
      { name: 'B', shape: [k, n] },
    ],
    [{ name: 'C', shape: [m, n] }],
  );
}
