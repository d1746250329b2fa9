// A protobuf wire-format writer for the few field kinds ONNX needs: varints (unsigned and
// two's-complement int64), fixed32 floats, and length-delimited bytes, strings and nested
// messages. A message is a list of byte parts, never copied until `finish`, so a model's weights
// (raw_data views on the caller's Float32Arrays) are copied once, into the final buffer.

const UTF8 = new TextEncoder();

export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  get byteLength(): number {
    return this.size;
  }

  /** Varint field (wire type 0). Negative values are int64 two's complement (10 bytes). */
  varint(field: number, value: number): this {
    this.key(field, 0);
    this.raw(value);
    return this;
  }

  /** Packed repeated int64 (proto3 style; proto2 parsers accept packed for scalar fields). */
  packedVarints(field: number, values: readonly number[]): this {
    const body = new ProtoWriter();
    for (const v of values) body.raw(v);
    this.key(field, 2);
    this.raw(body.size);
    this.append(body);
    return this;
  }

  /** float field (wire type 5, little-endian IEEE f32). */
  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, UTF8.encode(value));
  }

  bytes(field: number, data: Uint8Array): this {
    this.key(field, 2);
    this.raw(data.byteLength);
    this.push(data);
    return this;
  }

  message(field: number, body: ProtoWriter): this {
    this.key(field, 2);
    this.raw(body.size);
    this.append(body);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  private append(body: ProtoWriter): void {
    for (const p of body.parts) this.parts.push(p);
    this.size += body.size;
  }

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.byteLength;
  }

  private key(field: number, wireType: number): void {
    this.raw(field * 8 + wireType);
  }

  private raw(value: number): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf varint: ${value} is not a safe integer`);
    const bytes: number[] = [];
    if (value < 0) {
      // int64 two's complement: always ten bytes.
      let v = BigInt.asUintN(64, BigInt(value));
      for (let i = 0; i < 10; i++) {
        const b = Number(v & 0x7fn);
        v >>= 7n;
        bytes.push(v === 0n ? b : b | 0x80);
        if (v === 0n) break;
      }
    } else {
      let v = value;
      while (v >= 0x80) {
        bytes.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      bytes.push(v);
    }
    this.push(Uint8Array.from(bytes));
  }
}
