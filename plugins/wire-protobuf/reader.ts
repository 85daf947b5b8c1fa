/**
 * The protobuf wire format's reading half: varints (negative int64s included), length-delimited
 * values, fixed-width values, and a message read into its fields. Every malformed input is a
 * DecodeError naming what was wrong, which the decoder turns into the client's 400.
 */

/** A body that cannot be decoded: the client's 400, with the reason. */
export class DecodeError extends Error {}

export class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new DecodeError('truncated varint');
      const b = this.buf[this.pos++]!;
      if (i >= 7 && scale > 2 ** 48) return this.bigVarint(result, scale, b);
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new DecodeError('varint longer than 10 bytes');
  }

  /** Negative int32/int64 values arrive as 10-byte two's complement varints. */
  private bigVarint(low: number, scale: number, first: number): number {
    let value = BigInt(low);
    let shift = BigInt(Math.log2(scale));
    let b = first;
    for (;;) {
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (this.pos >= this.buf.length || shift > 70n) throw new DecodeError('truncated varint');
      b = this.buf[this.pos++]!;
    }
    return Number(BigInt.asIntN(64, value));
  }

  bytes(): Buffer {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw new DecodeError('length-delimited field runs past the end');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  fixed(size: 4 | 8): Buffer {
    if (this.pos + size > this.buf.length) throw new DecodeError('truncated fixed-width field');
    const out = this.buf.subarray(this.pos, this.pos + size);
    this.pos += size;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.fixed(8);
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.fixed(4);
    else throw new DecodeError(`unsupported wire type ${wireType}`);
  }
}

/** Field number → raw values (numbers for varints, Buffers otherwise), in wire order. */
export function readFields(buf: Buffer): Map<number, (number | Buffer)[]> {
  const r = new Reader(buf);
  const out = new Map<number, (number | Buffer)[]>();
  while (!r.done) {
    const key = r.varint();
    const num = Math.floor(key / 8);
    const wireType = key & 7;
    if (num === 0) throw new DecodeError('field number 0');
    let value: number | Buffer;
    if (wireType === 0) value = r.varint();
    else if (wireType === 2) value = r.bytes();
    else if (wireType === 1) value = r.fixed(8);
    else if (wireType === 5) value = r.fixed(4);
    else {
      r.skip(wireType);
      continue;
    }
    const list = out.get(num);
    if (list) list.push(value);
    else out.set(num, [value]);
  }
  return out;
}
