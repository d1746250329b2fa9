// The protobuf writer's wire format, byte for byte (values from the protobuf encoding guide).

import { describe, expect, it } from 'vitest';
import { ProtoWriter } from '../../../compiler/codegen/onnx/protobuf.ts';

const bytes = (w: ProtoWriter): number[] => [...w.finish()];

describe('ProtoWriter', () => {
  it('writes varints (150 → 96 01) and int64 −1 as ten bytes', () => {
    expect(bytes(new ProtoWriter().varint(1, 150))).toEqual([0x08, 0x96, 0x01]);
    expect(bytes(new ProtoWriter().varint(3, -1))).toEqual([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });
  it('writes strings and nested messages length-delimited', () => {
    expect(bytes(new ProtoWriter().string(2, 'testing'))).toEqual([0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
    expect(bytes(new ProtoWriter().message(3, new ProtoWriter().varint(1, 150)))).toEqual([0x1a, 0x03, 0x08, 0x96, 0x01]);
  });
  it('writes floats as fixed32 little-endian', () => {
    expect(bytes(new ProtoWriter().float(2, 1))).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
  });
  it('refuses values a double cannot hold exactly', () => {
    expect(() => new ProtoWriter().varint(1, 2 ** 60)).toThrow(RangeError);
  });
});
