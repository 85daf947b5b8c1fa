/**
 * The patch types the API accepts. JSON Patch (RFC 6902) follows upstream's library
 * (json-patch.ts); JSON merge patch (RFC 7386) and Kubernetes strategic merge patch are the product
 * itself; an apply patch is the field manager's (a plugin: field-manager.ts). Every function
 * returns a new object; bad patches are the client's 4xx, never a 500, and a patched object that
 * nests too deep is refused before anything recursive meets it.
 */

import { errors, StatusError } from '../errors.js';
import { MAX_OBJECT_DEPTH, nestingExceeds, TOO_DEEP } from './depth.js';
import { APPLY_PATCH_MEDIA_TYPE, type FieldManager } from './field-manager.js';
import { applyJsonPatch as applyOperations, JsonPatchError } from './json-patch.js';
import { clone, ownValue, setOwn } from './meta.js';
import type { PatchMeta } from './types.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Upstream's maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** The patch types core applies itself, in upstream's order. */
const MERGE_PATCH_MEDIA_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

/** Every patch type the API decodes; the apply patch is served only with a field manager. */
export const PATCH_MEDIA_TYPES = [...MERGE_PATCH_MEDIA_TYPES, APPLY_PATCH_MEDIA_TYPE];

/** The patch media types a route serves: an apply patch only with a field manager. */
export function servedPatchMediaTypes(fields: FieldManager | undefined): string[] {
  return fields ? PATCH_MEDIA_TYPES : MERGE_PATCH_MEDIA_TYPES;
}

/** A PATCH's type, or upstream's 415 (listing the served ones) for one the route does not serve. */
export function servedPatchType(type: PatchType | undefined, fields: FieldManager | undefined): PatchType {
  if (!type) throw errors.unsupportedMediaType('', servedPatchMediaTypes(fields));
  if (type === 'apply' && !fields)
    throw errors.unsupportedMediaType(APPLY_PATCH_MEDIA_TYPE, servedPatchMediaTypes(fields));
  return type;
}

/** `fields` applies an apply patch (the caller answers 415 for one when no plugin offers it). */
export function applyPatch(
  original: object,
  type: PatchType,
  patch: unknown,
  meta?: PatchMeta,
  fields?: FieldManager,
): object {
  const patched = patchOf(original, type, patch, meta, fields);
  // A JSON patch's add or copy can put a deep value under a deep path: the result may nest deeper
  // than either input. Upstream's decoder refuses the patched object (422 on "patch").
  if (nestingExceeds(patched, MAX_OBJECT_DEPTH))
    throw patchRejected(`the patched object is nested too deeply: ${TOO_DEEP}`);
  return patched;
}

function patchOf(original: object, type: PatchType, patch: unknown, meta?: PatchMeta, fields?: FieldManager) {
  switch (type) {
    case 'json':
      return applyJsonPatch(original, patch);
    case 'merge':
      if (!isObject(patch)) throw errors.badRequest('a merge patch must be a JSON object');
      return mergePatch(clone(original) as Json, patch) as object;
    case 'strategic':
      if (!isObject(patch)) throw errors.badRequest('a strategic merge patch must be a JSON object');
      return strategicMerge(clone(original) as JsonObject, patch, meta ?? {}, '');
    case 'apply': // without field ownership (subresources); the main resource applies in apply-request.ts
      if (!fields) throw new Error('an apply patch needs a field manager');
      return fields.mergeApplied(clone(original), patch, meta ?? {});
  }
}

/** Upstream's ValidatePatchOptions: 422 on PatchOptions. */
function invalidPatchOptions(field: string, reason: 'FieldValueRequired' | 'FieldValueForbidden', detail: string) {
  const text = reason === 'FieldValueRequired' ? 'Required value' : 'Forbidden';
  return new StatusError(422, 'Invalid', `PatchOptions.meta.k8s.io "" is invalid: ${field}: ${text}: ${detail}`, {
    group: 'meta.k8s.io',
    kind: 'PatchOptions',
    causes: [{ reason, message: `${text}: ${detail}`, field }],
  });
}

/** Check a PATCH's options: apply needs a fieldManager; `force` is for apply only. */
export function validatePatchOptions(query: URLSearchParams, apply: boolean): void {
  if (!apply && query.has('force'))
    throw invalidPatchOptions('force', 'FieldValueForbidden', 'may not be specified for non-apply patch');
  if (apply && !query.get('fieldManager'))
    throw invalidPatchOptions('fieldManager', 'FieldValueRequired', 'is required for apply patch');
}

function applyJsonPatch(original: object, patch: unknown): object {
  if (!Array.isArray(patch)) throw errors.badRequest('a JSON patch must be an array of operations');
  // What upstream's decoder refuses (a 400): an operation that is not an object.
  const bad = patch.findIndex((op) => typeof op !== 'object' || Array.isArray(op));
  if (bad >= 0) {
    const what = Array.isArray(patch[bad]) ? 'array' : typeof patch[bad];
    throw errors.badRequest(`the JSON patch is invalid: operation ${bad} is a ${what}, not an object`);
  }
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new StatusError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`,
    );
  }
  let patched: Json;
  try {
    patched = applyOperations(clone(original) as Json, patch);
  } catch (err) {
    if (err instanceof JsonPatchError) throw patchRejected(err.message);
    throw err;
  }
  if (!isObject(patched)) throw patchRejected('the patched document is not an object');
  return patched;
}

/**
 * Upstream answers a patch that does not apply with a bare 422 ("the server rejected our request
 * due to an error in our request"); the cause says why, which kubectl prints.
 */
function patchRejected(why: string): StatusError {
  return new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
    causes: [{ field: 'patch', message: why }],
  });
}

/** RFC 7386. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, mergePatch(ownValue(out, k) ?? null, v));
  }
  return out;
}

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Kubernetes strategic merge patch over a map, following the PatchMeta for its lists. */
function strategicMerge(original: JsonObject, patch: JsonObject, meta: PatchMeta, path: string): JsonObject {
  const directive = patch[DIRECTIVE];
  if (directive === 'replace') {
    const { [DIRECTIVE]: _d, ...rest } = patch;
    return stripDirectives(rest) as JsonObject;
  }
  if (directive === 'delete') return {};
  if (directive !== undefined && directive !== 'merge')
    throw errors.badRequest(`unknown patch directive "${String(directive)}" at ${path || 'the top level'}`);
  let out: JsonObject = { ...original };
  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw errors.badRequest(`$retainKeys at ${path || 'the top level'} must be a list`);
    const keep = new Set(retain as string[]);
    out = Object.fromEntries(Object.entries(out).filter(([k]) => keep.has(k)));
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS) continue;
    if (key.startsWith(DELETE_PRIMITIVE)) {
      deleteFromPrimitiveList(out, key, value);
      continue;
    }
    if (key.startsWith(SET_ORDER)) continue; // applied after the list is merged
    if (value === null) {
      delete out[key];
      continue;
    }
    const p = childPath(path, key);
    const cur = ownValue(out, key);
    if (Array.isArray(value)) {
      setOwn(out, key, mergeList(Array.isArray(cur) ? cur : [], value, meta, p, ownValue(patch, `${SET_ORDER}${key}`)));
    } else if (isObject(value)) {
      setOwn(out, key, strategicMerge(isObject(cur) ? cur : {}, value, meta, p));
    } else {
      setOwn(out, key, value);
    }
  }
  setElementOrders(out, patch, meta, path);
  return out;
}

/** `$deleteFromPrimitiveList/<field>: [values]`: those values leave the list of primitives. */
function deleteFromPrimitiveList(out: JsonObject, key: string, value: Json): void {
  const field = key.slice(DELETE_PRIMITIVE.length);
  if (!Array.isArray(value)) throw errors.badRequest(`${key} must be a list`);
  const current = ownValue(out, field);
  const drop = new Set<Json>(value);
  if (Array.isArray(current))
    setOwn(
      out,
      field,
      current.filter((v) => !drop.has(v)),
    );
}

/** `$setElementOrder/<field>` for lists the patch did not touch (merged lists were ordered as they merged). */
function setElementOrders(out: JsonObject, patch: JsonObject, meta: PatchMeta, path: string): void {
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    if (!Array.isArray(order)) throw errors.badRequest(`${key} must be a list`);
    const current = ownValue(out, field);
    if (!Object.hasOwn(patch, field) && Array.isArray(current)) {
      setOwn(out, field, reorder(current, order, ownValue(meta, childPath(path, field))));
    }
  }
}

// Lists are merged and ordered through maps, not nested scans: a patch of a few megabytes may hold
// a hundred thousand elements, and quadratic work on it would hold the server for minutes.

function mergeList(original: Json[], patch: Json[], meta: PatchMeta, path: string, order: Json | undefined): Json[] {
  const rule = ownValue(meta, path);
  if (rule?.strategy !== 'merge') {
    // Lists without merge metadata are replaced, unless the patch says otherwise element-wise.
    return patch.filter((e) => !(isObject(e) && e[DIRECTIVE] !== undefined)).map(stripDirectives);
  }
  const replaceAll = patch.some((e) => isObject(e) && e[DIRECTIVE] === 'replace');
  if (replaceAll) return patch.filter((e) => !(isObject(e) && e[DIRECTIVE] === 'replace')).map(stripDirectives);
  let merged: Json[];
  if (patch.every((e) => !isObject(e))) {
    // A list of primitives with merge strategy (e.g. finalizers): union, original order first.
    const seen = new Set<Json>(original);
    merged = [...original];
    for (const v of patch) {
      if (seen.has(v)) continue;
      merged.push(v);
      seen.add(v);
    }
  } else {
    if (!rule.mergeKey) throw errors.badRequest(`${path}: expected a list of values, not objects`);
    merged = mergeByKey(original, patch, meta, path, rule.mergeKey);
  }
  return Array.isArray(order) ? reorder(merged, order, rule) : merged;
}

/** Elements of `patch` merged into the element of `original` with the same merge key, or appended. */
function mergeByKey(original: Json[], patch: Json[], meta: PatchMeta, path: string, key: string): Json[] {
  const elementPath = `${path}[]`;
  const merged: (Json | undefined)[] = [...original];
  // Positions of each key's elements, in order: the first is the one a patch element merges into.
  const positions = new Map<Json, number[]>();
  const place = (id: Json, at: number) => {
    const list = positions.get(id);
    if (list) list.push(at);
    else positions.set(id, [at]);
  };
  original.forEach((e, i) => {
    if (isObject(e) && Object.hasOwn(e, key)) place(e[key]!, i);
  });
  for (const element of patch) {
    if (!isObject(element)) throw errors.badRequest(`${path}: expected objects keyed by "${key}"`);
    const id = ownValue(element, key);
    if (id === undefined) throw errors.badRequest(`${path}: an element has no merge key "${key}"`);
    const at = positions.get(id)?.[0];
    if (element[DIRECTIVE] === 'delete') {
      if (at !== undefined) {
        merged[at] = undefined; // removed below, so the positions stay right meanwhile
        positions.get(id)!.shift();
      }
      continue;
    }
    if (at !== undefined) merged[at] = strategicMerge(merged[at] as JsonObject, element, meta, elementPath);
    else {
      place(id, merged.length);
      merged.push(strategicMerge({}, element, meta, elementPath));
    }
  }
  return merged.filter((e): e is Json => e !== undefined);
}

/** $setElementOrder: listed elements in the given order, then any others in their current order. */
function reorder(list: Json[], order: Json[], rule: PatchMeta[string] | undefined): Json[] {
  const keyOf = (e: Json): string =>
    JSON.stringify(isObject(e) && rule?.strategy === 'merge' ? (ownValue(e, rule.mergeKey) ?? null) : e);
  const rankOf = new Map<string, number>();
  order.forEach((e, i) => {
    const k = keyOf(e);
    if (!rankOf.has(k)) rankOf.set(k, i);
  });
  const ranked = list.map((e, i) => ({ e, rank: rankOf.get(keyOf(e)) ?? Number.MAX_SAFE_INTEGER, i }));
  ranked.sort((a, b) => a.rank - b.rank || a.i - b.i);
  return ranked.map((r) => r.e);
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => !k.startsWith('$'))
      .map(([k, x]) => [k, stripDirectives(x)]),
  );
}
