/**
 * The protobuf wire format's writing half, shared through skiff/sdk/wire: varints, tags,
 * length-delimited fields and doubles, into one growing buffer. Both format plugins write with it:
 * wire-protobuf (Kubernetes objects) and wire-openapi (gnostic's OpenAPI v2 message), so neither
 * depends on the other.
 */
export class ProtoWriter {
  private chunks: Buffer[] = [];
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(256, n, this.buf.length * 2));
    this.pos = 0;
  }

  /** Negative numbers (int32/int64) go out as 10-byte two's complement, as Go writes them. */
  varint(value: number): void {
    this.ensure(10);
    if (value < 0 || value > Number.MAX_SAFE_INTEGER) {
      let v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
      while (v > 0x7fn) {
        this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
        v >>= 7n;
      }
      this.buf[this.pos++] = Number(v);
      return;
    }
    let v = value;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  tag(num: number, wireType: number): void {
    this.varint(num * 8 + wireType);
  }

  raw(bytes: Buffer): void {
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }

  lengthDelimited(num: number, bytes: Buffer): void {
    this.tag(num, 2);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  double(num: number, value: number): void {
    this.tag(num, 1);
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  finish(): Buffer {
    return Buffer.concat([...this.chunks, this.buf.subarray(0, this.pos)]);
  }
}
