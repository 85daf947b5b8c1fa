/**
 * Response bodies as JSON and Table bytes (plugins' serializers encode other media types). Objects
 * served from the watch cache are shared and never mutated, so each one is encoded once per format
 * (WeakMaps keyed by the object), and lists and Tables are stitched together from their items'
 * cached bytes instead of encoding every item again.
 */
import type { KubeObject, ResourceDefinition } from '../api/types.js';
import { encodeStatus, isStatusBody } from '../errors.js';
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
