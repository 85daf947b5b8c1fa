/**
 * Objects into protobuf, driven by the schema table: each field by its number, maps as repeated
 * key/value entries, the well-known apimachinery types from their JSON scalars, and the whole in
 * the `k8s\0` + runtime.Unknown envelope client-go reads.
 */
import { type FieldSchema, type MessageSchema, message, messageForKind, ProtoWriter } from 'skiff/sdk/wire';
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

function encodeScalar(w: ProtoWriter, field: FieldSchema, num: number, value: unknown): void {
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

function encodeFieldValue(w: ProtoWriter, field: FieldSchema, num: number, value: unknown): void {
  if (field.type.includes('.')) w.lengthDelimited(num, encodeMessageValue(field.type, value));
  else encodeScalar(w, field, num, value);
}

function encodeMessageValue(type: string, value: unknown): Buffer {
  const w = new ProtoWriter();
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

function encodeMessage(w: ProtoWriter, schema: MessageSchema, obj: Obj): void {
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
        const entry = new ProtoWriter();
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
  const w = new ProtoWriter();
  encodeMessage(w, schema, obj);
  return w.finish();
}

/**
 * A message made of length-delimited fields only, from bytes already encoded: list items from the
 * per-object cache, a watch event around an object's envelope.
 */
export function encodeBytesFields(fields: [number, Buffer][]): Buffer {
  const w = new ProtoWriter();
  for (const [num, bytes] of fields) w.lengthDelimited(num, bytes);
  return w.finish();
}

/** `k8s\0` + runtime.Unknown{typeMeta, raw}. */
export function wrapEnvelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  const typeMeta = new ProtoWriter();
  typeMeta.lengthDelimited(1, Buffer.from(apiVersion));
  typeMeta.lengthDelimited(2, Buffer.from(kind));
  const unknown = new ProtoWriter();
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
