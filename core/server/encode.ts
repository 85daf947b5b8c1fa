/**
 * Response bodies as bytes. Objects served from the watch cache are shared and never mutated, so each
 * one is encoded once per format (WeakMaps keyed by the object), and lists and Tables are stitched
 * together from their items' cached bytes instead of encoding every item again.
 */
import type { KubeObject, ResourceDefinition } from '../api/types.js';
import { canonicalStatus, encodeStatus, isStatusBody, type StatusDetails, type StatusLike } from '../errors.js';
import { encodeBytesFields, encodeMessageBytes, Writer, wrapEnvelope } from '../wire/protobuf.js';
import { messageForKind } from '../wire/schema.js';
import { type IncludeObject, tableCells, tableColumns } from './table.js';

const json = new WeakMap<object, Buffer>();

/** Only stored objects (they carry a resourceVersion) are immutable and worth caching. */
const cacheable = (obj: object) => Boolean((obj as KubeObject).metadata?.resourceVersion);

function objectJson(obj: object): Buffer {
  let buf = json.get(obj);
  if (!buf) {
    buf = Buffer.from(JSON.stringify(obj));
    if (cacheable(obj)) json.set(obj, buf);
  }
  return buf;
}

const COMMA = Buffer.from(',');
const CLOSE_LIST = Buffer.from(']}');

export function encodeJson(body: unknown): Buffer | string {
  if (typeof body !== 'object' || body === null) return JSON.stringify(body);
  if (isStatusBody(body)) return Buffer.from(encodeStatus(body));
  const { items, ...rest } = body as { items?: unknown };
  if (!Array.isArray(items)) return objectJson(body);
  const head = JSON.stringify(rest);
  const parts: Buffer[] = [Buffer.from(`${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"items":[`)];
  items.forEach((item, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(objectJson(item as object));
  });
  parts.push(CLOSE_LIST);
  return Buffer.concat(parts);
}

// ------------------------------------------------------------------ Tables

const metadataJson = new WeakMap<object, Buffer>();
const columnsJson = new WeakMap<ResourceDefinition, string>();

function rowObjectJson(obj: KubeObject, include: IncludeObject): Buffer | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return objectJson(obj);
  let buf = metadataJson.get(obj);
  if (!buf) {
    buf = Buffer.from(
      `{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":${JSON.stringify(obj.metadata)}}`,
    );
    if (cacheable(obj)) metadataJson.set(obj, buf);
  }
  return buf;
}

// A one-object Table (kubectl get pod x) is rebuilt only when its cells change (ages tick).
const singleTables = new WeakMap<object, { cells: string; include: IncludeObject; bytes: Buffer }>();

/** The Table for a list or one object; cells are computed per request (ages move), the rest is cached. */
export function encodeTable(def: ResourceDefinition, body: unknown, include: IncludeObject, now = new Date()): Buffer {
  const b = body as { items?: KubeObject[]; metadata?: Record<string, unknown>; kind?: string };
  if (isStatusBody(b)) return Buffer.from(encodeStatus(b));
  const isList = Array.isArray(b?.items);
  if (!isList && cacheable(b)) {
    const cells = JSON.stringify(tableCells(def, body as KubeObject, now));
    const cached = singleTables.get(b);
    if (cached && cached.cells === cells && cached.include === include) return cached.bytes;
    const bytes = buildTable(def, body, include, now);
    singleTables.set(b, { cells, include, bytes });
    return bytes;
  }
  return buildTable(def, body, include, now);
}

function buildTable(def: ResourceDefinition, body: unknown, include: IncludeObject, now: Date): Buffer {
  const b = body as { items?: KubeObject[]; metadata?: Record<string, unknown> };
  const isList = Array.isArray(b?.items);
  const items = isList ? b.items! : [body as KubeObject];
  const metadata = isList ? { ...b.metadata } : { resourceVersion: (body as KubeObject).metadata?.resourceVersion };
  let columns = columnsJson.get(def);
  if (!columns) {
    columns = JSON.stringify(tableColumns(def));
    columnsJson.set(def, columns);
  }
  const parts: Buffer[] = [
    Buffer.from(
      `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":${JSON.stringify(metadata)},"columnDefinitions":${columns},"rows":[`,
    ),
  ];
  items.forEach((obj, i) => {
    const object = rowObjectJson(obj, include);
    const cells = JSON.stringify(tableCells(def, obj, now));
    parts.push(Buffer.from(`${i > 0 ? ',' : ''}{"cells":${cells}${object ? ',"object":' : '}'}`));
    if (object) parts.push(object, CLOSE_OBJECT);
  });
  parts.push(CLOSE_LIST);
  return Buffer.concat(parts);
}

const CLOSE_OBJECT = Buffer.from('}');

// ---------------------------------------------------------------- protobuf

const protobuf = new WeakMap<object, Buffer>();

function messageBytes(obj: KubeObject, apiVersion: string, kind: string): Buffer | undefined {
  let buf = protobuf.get(obj);
  if (!buf) {
    const schema = messageForKind(apiVersion, kind);
    if (!schema) return undefined;
    buf = encodeMessageBytes(schema, obj as unknown as Record<string, unknown>);
    if (cacheable(obj)) protobuf.set(obj, buf);
  }
  return buf;
}

/** The object or list in the protobuf envelope; undefined when its kind has no protobuf form. */
export function encodeProtobufResponse(body: unknown): Buffer | undefined {
  if (isStatusBody(body)) return encodeStatusProtobuf(body);
  const b = body as { apiVersion?: string; kind?: string; items?: KubeObject[]; metadata?: unknown };
  const apiVersion = String(b?.apiVersion ?? '');
  const kind = String(b?.kind ?? '');
  if (!Array.isArray(b?.items)) {
    const bytes = messageBytes(body as KubeObject, apiVersion, kind);
    return bytes && wrapEnvelope(apiVersion, kind, bytes);
  }
  const list = messageForKind(apiVersion, kind);
  const itemKind = kind.replace(/List$/, '');
  if (!list || !messageForKind(apiVersion, itemKind)) return undefined;
  const head = encodeMessageBytes(list, { metadata: b.metadata });
  const items = b.items.map((item) => messageBytes(item, apiVersion, itemKind)!);
  // Field 2 of every List message is its items.
  const itemFields = encodeBytesFields(items.map((item): [number, Buffer] => [2, item]));
  return wrapEnvelope(apiVersion, kind, Buffer.concat([head, itemFields]));
}

// ---------------------------------------------------------------- Status in protobuf

function text(w: Writer, num: number, value: unknown): void {
  w.lengthDelimited(num, Buffer.from(typeof value === 'string' ? value : ''));
}

function int(w: Writer, num: number, value: number | undefined): void {
  w.tag(num, 0);
  w.varint(value ?? 0);
}

function statusDetailsBytes(d: StatusDetails): Buffer {
  const w = new Writer();
  text(w, 1, d.name);
  text(w, 2, d.group);
  text(w, 3, d.kind);
  for (const c of d.causes ?? []) {
    const cause = new Writer();
    text(cause, 1, c.reason);
    text(cause, 2, c.message);
    text(cause, 3, c.field);
    w.lengthDelimited(4, cause.finish());
  }
  int(w, 5, d.retryAfterSeconds);
  text(w, 6, d.uid);
  return w.finish();
}

/**
 * A Status as upstream's generated (gogo) marshaller writes it, byte for byte: fields in number
 * order, and every non-pointer field present even when empty (only `details` is a pointer). The
 * schema-driven encoder writes present fields in JSON order, which decodes the same but differs.
 */
export function encodeStatusProtobuf(s: StatusLike): Buffer {
  const status = canonicalStatus(s);
  const listMeta = new Writer();
  text(listMeta, 1, status.metadata.selfLink);
  text(listMeta, 2, status.metadata.resourceVersion);
  text(listMeta, 3, status.metadata.continue);
  const w = new Writer();
  w.lengthDelimited(1, listMeta.finish());
  text(w, 2, status.status);
  text(w, 3, status.message);
  text(w, 4, status.reason);
  if (status.details) w.lengthDelimited(5, statusDetailsBytes(status.details));
  int(w, 6, status.code);
  return wrapEnvelope('v1', 'Status', w.finish());
}

// ------------------------------------------------------------------ protobuf watch frames

const frames = new WeakMap<object, Buffer>();

/**
 * One watch event as client-go's protobuf stream decoder reads it: a 4-byte big-endian length, then
 * a metav1.WatchEvent message (no envelope) whose object is a RawExtension holding the object in
 * the usual `k8s\0` envelope. Undefined when the object's kind has no protobuf form.
 */
export function protobufWatchFrame(e: { type: string; object: object }): Buffer | undefined {
  let frame = frames.get(e);
  if (frame) return frame;
  const object = encodeProtobufResponse(e.object);
  if (!object) return undefined;
  const raw = encodeBytesFields([[1, object]]); // RawExtension.raw
  const event = encodeBytesFields([
    [1, Buffer.from(e.type)],
    [2, raw],
  ]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(event.length);
  frame = Buffer.concat([length, event]);
  frames.set(e, frame);
  return frame;
}
