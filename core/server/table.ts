/**
 * meta.k8s.io/v1 Table responses, which `kubectl get` asks for (`as=Table;g=meta.k8s.io;v=v1`).
 * Kinds bring their columns (ResourceDefinition.table); the rest get upstream's default NAME and
 * CREATED AT. Rows carry the object's metadata (includeObject=Metadata, the default), the whole
 * object (Object) or nothing (None).
 */
import type { KubeObject, ResourceDefinition, TableColumn } from '../api/types.js';
import { errors } from '../errors.js';

const DEFAULT_COLUMNS: TableColumn[] = [
  { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' },
  {
    name: 'Created At',
    type: 'date',
    description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  },
];

/** Whether the Accept header's first acceptable choice is a Table (kubectl lists it first). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  const first = accept.split(',')[0]!;
  const params = first.split(';').map((p) => p.trim());
  return (
    params.includes('as=Table') &&
    params.includes('g=meta.k8s.io') &&
    (params.includes('v=v1') || params.includes('v=v1beta1'))
  );
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function includeObjectOf(query: URLSearchParams): IncludeObject {
  const v = query.get('includeObject') ?? 'Metadata';
  if (v !== 'None' && v !== 'Metadata' && v !== 'Object') {
    throw errors.badRequest(`includeObject: Unsupported value: "${v}": supported values: "None", "Metadata", "Object"`);
  }
  return v;
}

function rowObject(obj: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function tableColumns(def: ResourceDefinition): TableColumn[] {
  return def.table?.columns ?? DEFAULT_COLUMNS;
}

export function tableCells(def: ResourceDefinition, obj: KubeObject, now: Date): unknown[] {
  return def.table ? def.table.row(obj, now) : [obj.metadata.name ?? '', obj.metadata.creationTimestamp ?? ''];
}

function row(def: ResourceDefinition, obj: KubeObject, include: IncludeObject, now: Date) {
  const cells = tableCells(def, obj, now);
  const r: Record<string, unknown> = { cells };
  const object = rowObject(obj, include);
  if (object) r.object = object;
  return r;
}

/** A Table for a list response or a single object. */
export function toTable(def: ResourceDefinition, body: unknown, include: IncludeObject, now = new Date()) {
  const b = body as { items?: KubeObject[]; metadata?: Record<string, unknown>; kind?: string };
  if (b?.kind === 'Status') return body;
  const items = Array.isArray(b?.items) ? b.items : [body as KubeObject];
  const metadata = Array.isArray(b?.items)
    ? { ...b.metadata }
    : { resourceVersion: (body as KubeObject).metadata?.resourceVersion };
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: tableColumns(def),
    rows: items.map((obj) => row(def, obj, include, now)),
  };
}
