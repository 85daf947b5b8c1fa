/**
 * OpenAPI v3 component schemas for the built-in kinds, generated from the schema table (so they
 * describe exactly what the server decodes and validates): properties and types, list and map
 * semantics, required fields and the group-version-kind of top-level kinds. `kubectl explain`
 * reads them. Description text comes from descriptions.ts, where it is known.
 */

import { type FieldSchema, META, type MessageSchema, message } from 'skiff/sdk/wire';
import { descriptionsOf } from './descriptions.js';

type Schema = Record<string, unknown>;

/** Upstream's OpenAPI definition name: k8s.io.api.core.v1.Pod → io.k8s.api.core.v1.Pod. */
export const definitionName = (messageName: string) => messageName.replace(/^k8s\.io\./, 'io.k8s.');

const SPECIAL: Record<string, Schema> = {
  [`${META}.Time`]: { type: 'string', format: 'date-time' },
  [`${META}.MicroTime`]: { type: 'string', format: 'date-time' },
  [`${META}.Duration`]: { type: 'string' },
  [`${META}.FieldsV1`]: { type: 'object' },
  'k8s.io.apimachinery.pkg.runtime.RawExtension': { type: 'object' },
};
/** Scalars with a name of their own: referenced, so `kubectl explain` shows <Quantity>, <IntOrString>. */
const NAMED_SCALARS: Record<string, Schema> = {
  'k8s.io.apimachinery.pkg.api.resource.Quantity': { type: 'string', 'x-kubernetes-int-or-string': true },
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString': {
    type: 'string',
    format: 'int-or-string',
    'x-kubernetes-int-or-string': true,
  },
};

function scalar(type: string): Schema {
  switch (type) {
    case 'string':
      return { type: 'string' };
    case 'bytes':
      return { type: 'string', format: 'byte' };
    case 'bool':
      return { type: 'boolean' };
    case 'double':
    case 'float':
      return { type: 'number', format: 'double' };
    default:
      return { type: 'integer', format: type.replace('u', '') };
  }
}

function valueSchema(type: string, refs: Set<string>): Schema {
  if (!type.includes('.')) return scalar(type);
  const special = SPECIAL[type];
  if (special) return special;
  const m = message(type);
  if (m?.wrapper) return { type: 'array', items: { type: 'string' } };
  refs.add(type);
  return { allOf: [{ $ref: `#/components/schemas/${definitionName(type)}` }] };
}

function fieldSchema(f: FieldSchema, refs: Set<string>): Schema {
  const value = valueSchema(f.type, refs);
  let s: Schema;
  if (f.map) s = { type: 'object', additionalProperties: value };
  else if (f.repeated) s = { type: 'array', items: value };
  else s = { ...value };
  const m = f.markers;
  if (m.listType) s['x-kubernetes-list-type'] = m.listType;
  if (m.listMapKey) s['x-kubernetes-list-map-keys'] = m.listMapKey.split(',');
  if (m.mapType) s['x-kubernetes-map-type'] = m.mapType;
  if (m.patchMergeKey) s['x-kubernetes-patch-merge-key'] = m.patchMergeKey;
  if (m.patchStrategy) s['x-kubernetes-patch-strategy'] = m.patchStrategy;
  return s;
}

function objectSchema(m: MessageSchema, refs: Set<string>): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  // Upstream's spec inlines embedded structs (Volume's VolumeSource), so their fields are described
  // under the outer type.
  const outer = descriptionsOf(m.name).fields;
  const add = (msg: MessageSchema) => {
    const text = msg === m ? outer : descriptionsOf(msg.name).fields;
    for (const f of msg.fields) {
      if (f.inline) {
        const inner = message(f.type);
        if (inner) add(inner);
        continue;
      }
      const description = text.get(f.name) ?? outer.get(f.name);
      properties[f.name] = description ? { description, ...fieldSchema(f, refs) } : fieldSchema(f, refs);
      if (!f.optional && !f.omitZero) required.push(f.name);
    }
  };
  add(m);
  const description = descriptionsOf(m.name).description;
  const s: Schema = description ? { description, type: 'object', properties } : { type: 'object', properties };
  if (required.length) s.required = required.sort();
  return s;
}

export interface KindRef {
  group: string;
  version: string;
  kind: string;
}

/** The component schemas reachable from these kinds (and their lists), top-level kinds marked. */
export function componentSchemas(
  kinds: KindRef[],
  messageFor: (k: KindRef) => MessageSchema | undefined,
): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  const pending: string[] = [];
  const gvks = new Map<string, KindRef>();
  for (const k of kinds) {
    for (const kind of [k.kind, `${k.kind}List`]) {
      const m = messageFor({ ...k, kind });
      if (!m) continue;
      gvks.set(m.name, { ...k, kind });
      pending.push(m.name);
    }
  }
  const seen = new Set<string>();
  while (pending.length) {
    const name = pending.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    if (NAMED_SCALARS[name]) {
      const description = descriptionsOf(name).description;
      out[definitionName(name)] = description ? { description, ...NAMED_SCALARS[name] } : NAMED_SCALARS[name];
      continue;
    }
    const m = message(name);
    if (!m) continue;
    const refs = new Set<string>();
    const schema = objectSchema(m, refs);
    const gvk = gvks.get(name);
    if (gvk) {
      const props = schema.properties as Record<string, Schema>;
      const text = descriptionsOf(name).fields;
      const typeMeta = (field: string): Schema => {
        const description = text.get(field);
        return description ? { description, type: 'string' } : { type: 'string' };
      };
      schema.properties = { apiVersion: typeMeta('apiVersion'), kind: typeMeta('kind'), ...props };
      schema['x-kubernetes-group-version-kind'] = [gvk];
    }
    out[definitionName(name)] = schema;
    for (const r of refs) if (!seen.has(r)) pending.push(r);
  }
  return out;
}
