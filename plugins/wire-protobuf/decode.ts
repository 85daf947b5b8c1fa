/**
 * Protobuf request bodies into the JSON shapes the rest of the server uses, driven by the schema
 * table (skiff/sdk/wire), with Go's JSON rules (omitempty, inline structs, Time as RFC 3339,
 * Quantity and IntOrString as scalars) so a protobuf body and its JSON twin become the same object.
 */
import { errors } from 'skiff/sdk';
import {
  type FieldSchema,
  isStackOverflow,
  MAX_NESTING_DEPTH,
  type MessageSchema,
  message,
  messageForKind,
  nestingExceeds,
  TOO_DEEP,
} from 'skiff/sdk/wire';
import {
  DURATION,
  FIELDS_V1,
  INT_OR_STRING,
  MAGIC,
  MICRO_TIME,
  type Obj,
  QUANTITY,
  RAW_EXTENSION,
  TIME,
} from './names.js';
import { DecodeError, Reader, readFields } from './reader.js';

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

/**
 * Decodes a protobuf request body (envelope and all) into the object's JSON form; any failure is a
 * 400 naming the reason. Objects embedded in objects (RawExtension) are decoded recursively, so a
 * body nested past what the decoder can follow is the depth 400, as JSON's and YAML's are.
 */
export function decodeProtobuf(buf: Buffer): Obj {
  let body: Obj;
  try {
    body = decodeEnvelope(buf);
  } catch (err) {
    if (err instanceof DecodeError) throw undecodable(err.message);
    if (isStackOverflow(err)) throw undecodable(TOO_DEEP);
    throw err;
  }
  if (nestingExceeds(body, MAX_NESTING_DEPTH)) throw undecodable(TOO_DEEP);
  return body;
}

const undecodable = (reason: string) =>
  errors.badRequest(`the request body could not be decoded as protobuf: ${reason}`);
