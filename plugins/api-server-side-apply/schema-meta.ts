/**
 * Which maps and structs of a built-in kind server-side apply treats as atomic, from the API schema:
 * a map marked `+mapType=atomic` (a Service's or ReplicationController's selector, nodeSelector) and
 * every field whose type upstream marks `+structType=atomic` (a LabelSelector, an OwnerReference, a
 * key selector). Upstream records such a value as one field (`f:selector: {}`), and an apply
 * replaces it whole rather than merging it key by key.
 */
import { apiVersionOf, type ResourceDefinition } from 'skiff/sdk/api';
import { META, type MessageSchema, message, messageForKind, OPAQUE_TYPES, SCALARS } from 'skiff/sdk/wire';
import type { SchemaMeta } from './typed-value.js';

const CORE = 'k8s.io.api.core.v1';
/** The types k8s.io/api v0.32 and apimachinery mark `+structType=atomic`. */
const ATOMIC_STRUCTS = new Set([
  `${META}.LabelSelector`,
  `${META}.OwnerReference`,
  ...[
    'SecretReference',
    'ObjectFieldSelector',
    'ResourceFieldSelector',
    'ConfigMapKeySelector',
    'SecretKeySelector',
    'NodeSelector',
    'NodeSelectorTerm',
    'TopologySelectorTerm',
    'EndpointAddress',
    'EndpointPort',
    'ObjectReference',
    'LocalObjectReference',
    'TypedLocalObjectReference',
    'ScopeSelector',
  ].map((t) => `${CORE}.${t}`),
]);
const ATOMIC = { strategy: 'atomic' } as const;
/** Deeper than any built-in kind nests; a guard against a recursive type. */
const MAX_DEPTH = 24;

const built = new WeakMap<ResourceDefinition, SchemaMeta>();

/** The kind's PatchMeta with its atomic maps and structs added (paths in PatchMeta's form). */
export function schemaMetaOf(def: ResourceDefinition): SchemaMeta {
  let meta = built.get(def);
  if (!meta) {
    const out: Record<string, SchemaMeta[string]> = { ...(def.patchMeta ?? {}) };
    const schema = messageForKind(apiVersionOf(def), def.kind);
    if (schema) collect(schema, '', out, 0);
    meta = out;
    built.set(def, meta);
  }
  return meta;
}

function collect(schema: MessageSchema, prefix: string, out: Record<string, SchemaMeta[string]>, depth: number): void {
  if (depth > MAX_DEPTH) return;
  for (const f of schema.fields) {
    const path = f.inline ? prefix : prefix ? `${prefix}.${f.name}` : f.name;
    const at = f.repeated ? `${path}[]` : path;
    if (f.map) {
      if (f.markers.mapType === 'atomic') out[path] ??= ATOMIC;
    } else if (ATOMIC_STRUCTS.has(f.type)) {
      out[at] ??= ATOMIC;
    } else if (!SCALARS.has(f.type) && !OPAQUE_TYPES.has(f.type)) {
      const inner = message(f.type);
      if (inner) collect(inner, at, out, depth + 1);
    }
  }
}
