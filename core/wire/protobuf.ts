/**
 * Kubernetes' protobuf wire format (`application/vnd.kubernetes.protobuf`), driven by the schema
 * table: the 4-byte `k8s\0` magic, then a runtime.Unknown whose typeMeta names the kind and whose
 * raw bytes are the object's message. Objects go to and from the same JSON shapes the rest of the
 * server uses, with Go's JSON rules (omitempty, inline structs, Time as RFC 3339, Quantity and
 * IntOrString as scalars) so a protobuf body and its JSON twin become the same object.
 */
import { errors } from '../errors.js';
import { type FieldSchema, META, type MessageSchema, message, messageForKind } from './schema.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

const TIME = `${META}.Time`;
const MICRO_TIME = `${META}.MicroTime`;
const DURATION = `${META}.Duration`;
const FIELDS_V1 = `${META}.FieldsV1`;
const QUANTITY = 'k8s.io.apimachinery.pkg.api.resource.Quantity';
const INT_OR_STRING = 'k8s.io.apimachinery.pkg.util.intstr.IntOrString';
const RAW_EXTENSION = 'k8s.io.apimachinery.pkg.runtime.RawExtension';

type Obj = Record<string, unknown>;

/** A body that cannot be decoded: the client's 400, with the reason. */
class DecodeError extends Error {}

// ---------------------------------------------------------------- decoding

class Reader {
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
function readFields(buf: Buffer): Map<number, (number | Buffer)[]> {
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

const asBuffer = (v: number | Buffer, what: string): Buffer => {
  if (typeof v === 'number') throw new DecodeError(`${what}: expected a length-delimited value`);
  return v;
};

function scalar(type: string, v: number | Buffer, what: string): unknown {
  switch (type) {
    case 'string':
      return asBuffer(v, what).toString('utf8');
    case 'bytes':
      return asBuffer(v, what).toString('base64');
    case 'bool':
      if (typeof v !== 'number') throw new DecodeError(`${what}: expected a varint`);
      return v !== 0;
    case 'double':
      return asBuffer(v, what).readDoubleLE(0);
    case 'float':
      return asBuffer(v, what).readFloatLE(0);
    default:
      if (typeof v !== 'number') return packedFirst(v, what);
      return type === 'int32' ? v | 0 : v;
  }
}

function packedFirst(buf: Buffer, what: string): number {
  const r = new Reader(buf);
  if (r.done) throw new DecodeError(`${what}: empty packed value`);
  return r.varint();
}

function decodeValue(field: FieldSchema, v: number | Buffer, path: string): unknown {
  if (field.type.includes('.')) return decodeMessageValue(field.type, asBuffer(v, path), path);
  return scalar(field.type, v, path);
}

/** A message in JSON form, with the well-known k8s types turned into their JSON scalars. */
function decodeMessageValue(type: string, buf: Buffer, path: string): unknown {
  switch (type) {
    case TIME:
    case MICRO_TIME: {
      const f = readFields(buf);
      const seconds = (f.get(1)?.at(-1) as number | undefined) ?? 0;
      const nanos = (f.get(2)?.at(-1) as number | undefined) ?? 0;
      if (seconds === 0 && nanos === 0) return null;
      return formatTime(seconds, nanos, type === MICRO_TIME);
    }
    case DURATION:
      return formatDuration((readFields(buf).get(1)?.at(-1) as number | undefined) ?? 0);
    case QUANTITY:
      return asBuffer(readFields(buf).get(1)?.at(-1) ?? Buffer.alloc(0), path).toString('utf8');
    case INT_OR_STRING: {
      const f = readFields(buf);
      if (((f.get(1)?.at(-1) as number | undefined) ?? 0) === 1) {
        return asBuffer(f.get(3)?.at(-1) ?? Buffer.alloc(0), path).toString('utf8');
      }
      return ((f.get(2)?.at(-1) as number | undefined) ?? 0) | 0;
    }
    case RAW_EXTENSION:
    case FIELDS_V1:
      return decodeEmbedded(asBuffer(readFields(buf).get(1)?.at(-1) ?? Buffer.alloc(0), path), path);
  }
  const schema = message(type);
  if (!schema) throw new DecodeError(`${path}: no schema for message ${type}`);
  const out = decodeMessage(schema, buf, path);
  return schema.wrapper ? (out.items ?? []) : out;
}

function decodeEmbedded(raw: Buffer, path: string): unknown {
  if (raw.length === 0) return null;
  if (raw.subarray(0, 4).equals(MAGIC)) return decodeEnvelope(raw);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new DecodeError(`${path}: embedded object is neither protobuf nor JSON`);
  }
}

function decodeMessage(schema: MessageSchema, buf: Buffer, path: string): Obj {
  const fields = readFields(buf);
  const out: Obj = {};
  for (const [num, values] of fields) {
    const field = schema.byNumber.get(num);
    if (!field) continue; // unknown fields are dropped, as upstream's generated code does
    const at = `${path}.${field.name}`;
    if (field.map) {
      out[field.name] = decodeMap(field, values, at);
    } else if (field.repeated) {
      out[field.name] =
        field.type.includes('.') || field.type === 'string' || field.type === 'bytes'
          ? values.map((v) => decodeValue(field, v, at))
          : values.flatMap((v) => (typeof v === 'number' ? [scalar(field.type, v, at)] : unpack(field.type, v, at)));
    } else {
      const value = decodeValue(field, values.at(-1)!, at);
      if (field.inline && value && typeof value === 'object') Object.assign(out, value);
      else if (value !== null && !(field.omitZero && isZero(value))) out[field.name] = value;
    }
  }
  return out;
}

function unpack(type: string, buf: Buffer, path: string): unknown[] {
  const r = new Reader(buf);
  const out: unknown[] = [];
  while (!r.done) out.push(scalar(type, r.varint(), path));
  return out;
}

function decodeMap(field: FieldSchema, entries: (number | Buffer)[], path: string): Obj {
  const out: Obj = {};
  for (const entry of entries) {
    const f = readFields(asBuffer(entry, path));
    const key = asBuffer(f.get(1)?.at(-1) ?? Buffer.alloc(0), path).toString('utf8');
    const value = f.get(2)?.at(-1);
    out[key] = value === undefined ? zeroOf(field.type) : decodeValue(field, value, `${path}[${key}]`);
  }
  return out;
}

function zeroOf(type: string): unknown {
  if (type === 'string' || type === QUANTITY) return type === QUANTITY ? '0' : '';
  if (type === 'bytes') return '';
  if (type === 'bool') return false;
  if (type.includes('.')) return message(type)?.wrapper ? [] : {};
  return 0;
}

const isZero = (v: unknown) => v === '' || v === 0 || v === false;

function formatTime(seconds: number, nanos: number, micro: boolean): string {
  const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
}

/** Go's time.Duration.String(): "1h2m3s", "1.5s", "300ms", "0s". */
function formatDuration(nanos: number): string {
  if (nanos === 0) return '0s';
  const sign = nanos < 0 ? '-' : '';
  let n = Math.abs(nanos);
  if (n < 1e9) {
    if (n < 1e3) return `${sign}${n}ns`;
    if (n < 1e6) return `${sign}${n / 1e3}µs`;
    return `${sign}${n / 1e6}ms`;
  }
  const h = Math.floor(n / 3.6e12);
  n -= h * 3.6e12;
  const m = Math.floor(n / 6e10);
  n -= m * 6e10;
  const s = `${n / 1e9}s`;
  if (h) return `${sign}${h}h${m}m${s}`;
  if (m) return `${sign}${m}m${s}`;
  return `${sign}${s}`;
}

function decodeEnvelope(buf: Buffer): Obj {
  if (buf.length < 4 || !buf.subarray(0, 4).equals(MAGIC)) {
    throw new DecodeError('the body does not start with the "k8s\\x00" protobuf envelope prefix');
  }
  // runtime.Unknown: 1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding. Read directly, so
  // the object's bytes are not turned into base64 and back.
  const unknown = readFields(buf.subarray(4));
  const text = (v: number | Buffer | undefined, what: string) =>
    v === undefined ? '' : asBuffer(v, what).toString('utf8');
  const typeMeta = readFields(asBuffer(unknown.get(1)?.at(-1) ?? Buffer.alloc(0), 'Unknown.typeMeta'));
  const apiVersion = text(typeMeta.get(1)?.at(-1), 'Unknown.typeMeta.apiVersion');
  const kind = text(typeMeta.get(2)?.at(-1), 'Unknown.typeMeta.kind');
  if (!kind) throw new DecodeError('the envelope does not name a kind');
  const contentEncoding = text(unknown.get(3)?.at(-1), 'Unknown.contentEncoding');
  if (contentEncoding) throw new DecodeError(`unsupported contentEncoding "${contentEncoding}"`);
  const schema = messageForKind(apiVersion, kind);
  if (!schema) throw new DecodeError(`no kind "${kind}" is registered for version "${apiVersion}"`);
  const raw = asBuffer(unknown.get(2)?.at(-1) ?? Buffer.alloc(0), 'Unknown.raw');
  return { apiVersion, kind, ...decodeMessage(schema, raw, kind) };
}

/** Decodes a protobuf request body into the object's JSON form; any failure is a 400 naming the reason. */
export function decodeProtobuf(buf: Buffer): Obj {
  try {
    return decodeEnvelope(buf);
  } catch (err) {
    if (err instanceof DecodeError) {
      throw errors.badRequest(`the request body could not be decoded as protobuf: ${err.message}`);
    }
    throw err;
  }
}

// ---------------------------------------------------------------- encoding

/** A protobuf writer: varints, tags, length-delimited fields (also used by the OpenAPI v2 encoder). */
export class Writer {
  private chunks: Buffer[] = [];
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(256, n, this.buf.length * 2));
    this.pos = 0;
  }

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

function encodeScalar(w: Writer, field: FieldSchema, num: number, value: unknown): void {
  switch (field.type) {
    case 'string':
      w.lengthDelimited(num, Buffer.from(String(value), 'utf8'));
      return;
    case 'bytes':
      w.lengthDelimited(num, Buffer.from(String(value), 'base64'));
      return;
    case 'bool':
      w.tag(num, 0);
      w.varint(value ? 1 : 0);
      return;
    case 'double':
    case 'float':
      w.double(num, Number(value));
      return;
    default:
      w.tag(num, 0);
      w.varint(Number(value) || 0);
  }
}

function encodeFieldValue(w: Writer, field: FieldSchema, num: number, value: unknown): void {
  if (field.type.includes('.')) w.lengthDelimited(num, encodeMessageValue(field.type, value));
  else encodeScalar(w, field, num, value);
}

function encodeMessageValue(type: string, value: unknown): Buffer {
  const w = new Writer();
  switch (type) {
    case TIME:
    case MICRO_TIME: {
      const ms = Date.parse(String(value));
      if (Number.isNaN(ms)) return w.finish();
      const micros = /\.(\d{1,6})/.exec(String(value))?.[1];
      w.tag(1, 0);
      w.varint(Math.floor(ms / 1000));
      if (micros) {
        w.tag(2, 0);
        w.varint(Number(micros.padEnd(6, '0')) * 1000);
      }
      return w.finish();
    }
    case QUANTITY:
      w.lengthDelimited(1, Buffer.from(String(value)));
      return w.finish();
    case INT_OR_STRING:
      if (typeof value === 'number') {
        w.tag(1, 0);
        w.varint(0);
        w.tag(2, 0);
        w.varint(value);
      } else {
        w.tag(1, 0);
        w.varint(1);
        w.lengthDelimited(3, Buffer.from(String(value)));
      }
      return w.finish();
    case RAW_EXTENSION:
    case FIELDS_V1:
      w.lengthDelimited(1, Buffer.from(JSON.stringify(value ?? null)));
      return w.finish();
    case DURATION:
      return w.finish();
  }
  const schema = message(type);
  if (!schema) return w.finish();
  encodeMessage(w, schema, schema.wrapper ? { items: value } : (value as Obj));
  return w.finish();
}

function encodeMessage(w: Writer, schema: MessageSchema, obj: Obj): void {
  if (!obj || typeof obj !== 'object') return;
  for (const field of schema.fields) {
    if (field.inline) {
      w.lengthDelimited(field.number, encodeMessageValue(field.type, obj));
      continue;
    }
    const value = obj[field.name];
    if (value === undefined || value === null) continue;
    if (field.map) {
      for (const [k, v] of Object.entries(value as Obj)) {
        const entry = new Writer();
        entry.lengthDelimited(1, Buffer.from(k));
        if (v !== null && v !== undefined) encodeFieldValue(entry, field, 2, v);
        w.lengthDelimited(field.number, entry.finish());
      }
    } else if (field.repeated) {
      if (Array.isArray(value)) for (const item of value) encodeFieldValue(w, field, field.number, item);
    } else {
      encodeFieldValue(w, field, field.number, value);
    }
  }
}

/** The object's message bytes, without the envelope. */
export function encodeMessageBytes(schema: MessageSchema, obj: Obj): Buffer {
  const w = new Writer();
  encodeMessage(w, schema, obj);
  return w.finish();
}

/**
 * A message made of length-delimited fields only, from bytes already encoded: list items from the
 * per-object cache, a watch event around an object's envelope.
 */
export function encodeBytesFields(fields: [number, Buffer][]): Buffer {
  const w = new Writer();
  for (const [num, bytes] of fields) w.lengthDelimited(num, bytes);
  return w.finish();
}

/** `k8s\0` + runtime.Unknown{typeMeta, raw}. */
export function wrapEnvelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  const typeMeta = new Writer();
  typeMeta.lengthDelimited(1, Buffer.from(apiVersion));
  typeMeta.lengthDelimited(2, Buffer.from(kind));
  const unknown = new Writer();
  unknown.raw(MAGIC);
  unknown.lengthDelimited(1, typeMeta.finish());
  unknown.lengthDelimited(2, raw);
  unknown.lengthDelimited(3, Buffer.alloc(0));
  unknown.lengthDelimited(4, Buffer.alloc(0));
  return unknown.finish();
}

/** Encodes an object (with apiVersion and kind) in the envelope; undefined when the kind has no schema. */
export function encodeProtobuf(obj: Obj): Buffer | undefined {
  const apiVersion = String(obj.apiVersion ?? '');
  const kind = String(obj.kind ?? '');
  const schema = messageForKind(apiVersion, kind);
  return schema && wrapEnvelope(apiVersion, kind, encodeMessageBytes(schema, obj));
}
