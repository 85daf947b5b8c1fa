/**
 * Unknown fields and patches, as upstream's patcher treats them. A merge, strategic-merge or JSON
 * patch is applied, and whatever the result holds that the kind's schema lacks is dropped: with a
 * Warning each (`unknown field "spec.bogus"`, the default), silently (fieldValidation=Ignore), or
 * refused (Strict: 422 on the field "patch", showing the patched object as JSON, or a strategic
 * patch as Go prints a map, as upstream does). An apply patch is typed: a field its schema lacks is
 * a 400 whatever fieldValidation says. Kinds without a schema (no wire plugin) keep what they get.
 */
import { errors, fieldErrorBody, StatusError } from '../errors.js';
import { messageForKind } from '../wire/schema.js';
import { dropUnknownFields, fieldValidationOf, type ItemLabel } from '../wire/unknown-fields.js';
import type { ApiCall } from './api-call.js';
import { clone, itemKeyFields } from './meta.js';
import type { PatchType } from './patch.js';
import { apiVersionOf, type KubeObject, type PatchMeta, type ResourceDefinition } from './types.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const schemaOf = (def: ResourceDefinition) => messageForKind(apiVersionOf(def), def.kind)?.name;

/** Drops the fields of `patched` (a merge, strategic or JSON patch's result) the schema lacks, per fieldValidation. */
export function dropUnknownPatchedFields(
  patched: KubeObject,
  def: ResourceDefinition,
  type: PatchType,
  call: ApiCall,
): void {
  const schema = schemaOf(def);
  if (!schema) return;
  const mode = fieldValidationOf(call.query);
  const shown = mode === 'Strict' ? JSON.stringify(patched) : '';
  const found = dropUnknownFields(patched as unknown as Obj, schema).map((f) => `unknown field "${f}"`);
  if (found.length === 0 || mode === 'Ignore') return;
  if (mode === 'Warn') {
    for (const f of found) call.warn?.(f);
    return;
  }
  const body = fieldErrorBody({
    type: 'FieldValueInvalid',
    field: 'patch',
    value: type === 'strategic' ? goValue(call.body) : shown,
    detail: `strict decoding error: ${found.join(', ')}`,
  });
  throw new StatusError(422, 'Invalid', ` "" is invalid: patch: ${body}`, {
    causes: [{ reason: 'FieldValueInvalid', message: body, field: 'patch' }],
  });
}

/** An apply patch with fields its kind's schema lacks: upstream's "field not declared in schema" (400). */
export function refuseUnknownApplyFields(body: unknown, def: ResourceDefinition): void {
  const schema = schemaOf(def);
  if (!schema || !isObj(body)) return;
  const unknown = dropUnknownFields(clone(body), schema, true, keyedItems(def.patchMeta));
  if (unknown.length === 0) return;
  const lines = unknown.map((f) => `.${f}: field not declared in schema`);
  const text = lines.length === 1 ? lines[0] : `errors:\n  ${lines.join('\n  ')}`;
  throw errors.badRequest(`failed to create typed patch object (${patchObjectName(body, def)}): ${text}`);
}

/**
 * List items as structured-merge-diff names them in a path: an item of a keyed list by its key
 * fields, sorted, defaults standing in (`containers[name="c"]`,
 * `ports[containerPort=80,protocol="TCP"]`), of a set by its value, others by index.
 */
function keyedItems(meta: PatchMeta | undefined): ItemLabel {
  return (listPath, item, index) => {
    const rule = meta?.[listPath.replace(/\[[^\]]*\]/g, '[]')];
    if (rule?.strategy !== 'merge') return `[${index}]`;
    if (!rule.mergeKey) return `[=${JSON.stringify(item)}]`;
    const fields = isObj(item) ? itemKeyFields(rule, item) : undefined;
    if (!fields) return `[${index}]`;
    return `[${fields.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
  };
}

/** Upstream's "<namespace>/<name>; <group>/<version>, Kind=<kind>" of the patch object. */
function patchObjectName(body: Obj, def: ResourceDefinition): string {
  const meta = isObj(body.metadata) ? body.metadata : {};
  const apiVersion = typeof body.apiVersion === 'string' ? body.apiVersion : apiVersionOf(def);
  const groupVersion = apiVersion.includes('/') ? apiVersion : `/${apiVersion}`;
  const kind = typeof body.kind === 'string' ? body.kind : def.kind;
  return `${meta.namespace ?? ''}/${meta.name ?? ''}; ${groupVersion}, Kind=${kind}`;
}

/** A decoded JSON value as Go's %+v prints it: map[a:1 b:[x y]], keys sorted. */
function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (isObj(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goValue(v[k])}`).join(' ')}]`;
  }
  return String(v);
}
