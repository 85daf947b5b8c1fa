/**
 * The three patch types the API accepts. JSON Patch (RFC 6902) uses fast-json-patch; JSON merge
 * patch (RFC 7386) and Kubernetes strategic merge patch are the product itself. Every function
 * returns a new object; bad patches are the client's 4xx, never a 500.
 */

import jsonPatch from 'fast-json-patch';
import { errors, isStatusError, StatusError } from '../errors.js';
import { merge as mergeApplied } from './apply/fieldset.js';
import { clone } from './meta.js';
import type { PatchMeta } from './types.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function applyPatch(
  original: object,
  type: 'json' | 'merge' | 'strategic' | 'apply',
  patch: unknown,
  meta?: PatchMeta,
): object {
  switch (type) {
    case 'json':
      return applyJsonPatch(original, patch);
    case 'merge':
      if (!isObject(patch)) throw errors.badRequest('a merge patch must be a JSON object');
      return mergePatch(clone(original) as Json, patch) as object;
    case 'strategic':
      if (!isObject(patch)) throw errors.badRequest('a strategic merge patch must be a JSON object');
      return strategicMerge(clone(original) as JsonObject, patch, meta ?? {}, '');
    case 'apply': // without field ownership (subresources); the main resource applies in apply/apply.ts
      if (!isObject(patch)) throw errors.badRequest('an applied configuration must be an object');
      return mergeApplied(clone(original) as Json, patch, meta ?? {}) as object;
  }
}

function applyJsonPatch(original: object, patch: unknown): object {
  if (!Array.isArray(patch)) throw errors.badRequest('a JSON patch must be an array of operations');
  const invalid = jsonPatch.validate(patch as jsonPatch.Operation[], original);
  if (invalid) {
    if (invalid.name === 'TEST_OPERATION_FAILED') throw testFailed();
    throw errors.badRequest(`the JSON patch is invalid: ${invalid.message.split('\n')[0]}`);
  }
  try {
    return jsonPatch.applyPatch(clone(original), patch as jsonPatch.Operation[], false, false).newDocument;
  } catch (err) {
    if (isStatusError(err)) throw err;
    const e = err as Error & { name?: string };
    if (e.name === 'TEST_OPERATION_FAILED') throw testFailed();
    throw errors.badRequest(`the JSON patch could not be applied: ${e.message.split('\n')[0]}`);
  }
}

function testFailed(): StatusError {
  return new StatusError(
    422,
    'Invalid',
    'the server rejected our request due to an error in our request: testing value failed',
  );
}

/** RFC 7386. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
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
      const field = key.slice(DELETE_PRIMITIVE.length);
      if (!Array.isArray(value)) throw errors.badRequest(`${key} must be a list`);
      const current = out[field];
      if (Array.isArray(current)) out[field] = current.filter((v) => !value.includes(v));
      continue;
    }
    if (key.startsWith(SET_ORDER)) continue; // applied after the list is merged
    if (value === null) {
      delete out[key];
      continue;
    }
    const p = childPath(path, key);
    const cur = out[key];
    if (Array.isArray(value)) {
      out[key] = mergeList(Array.isArray(cur) ? cur : [], value, meta, p, patch[`${SET_ORDER}${key}`]);
    } else if (isObject(value)) {
      out[key] = strategicMerge(isObject(cur) ? cur : {}, value, meta, p);
    } else {
      out[key] = value;
    }
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    if (!Array.isArray(order)) throw errors.badRequest(`${key} must be a list`);
    if (!(field in patch) && Array.isArray(out[field])) {
      out[field] = reorder(out[field] as Json[], order, meta[childPath(path, field)]);
    }
  }
  return out;
}

function mergeList(original: Json[], patch: Json[], meta: PatchMeta, path: string, order: Json | undefined): Json[] {
  const rule = meta[path];
  if (rule?.strategy !== 'merge') {
    // Lists without merge metadata are replaced, unless the patch says otherwise element-wise.
    return patch.filter((e) => !(isObject(e) && e[DIRECTIVE] !== undefined)).map(stripDirectives);
  }
  const elementPath = `${path}[]`;
  const replaceAll = patch.some((e) => isObject(e) && e[DIRECTIVE] === 'replace');
  if (replaceAll) return patch.filter((e) => !(isObject(e) && e[DIRECTIVE] === 'replace')).map(stripDirectives);
  let merged: Json[];
  if (patch.every((e) => !isObject(e))) {
    // A list of primitives with merge strategy (e.g. finalizers): union, original order first.
    merged = [...original];
    for (const v of patch) if (!merged.includes(v)) merged.push(v);
  } else {
    const key = rule.mergeKey;
    merged = [...original];
    for (const element of patch) {
      if (!isObject(element)) throw errors.badRequest(`${path}: expected objects keyed by "${key}"`);
      const id = element[key];
      if (id === undefined) throw errors.badRequest(`${path}: an element has no merge key "${key}"`);
      const at = merged.findIndex((e) => isObject(e) && e[key] === id);
      if (element[DIRECTIVE] === 'delete') {
        if (at >= 0) merged.splice(at, 1);
        continue;
      }
      if (at >= 0) merged[at] = strategicMerge(merged[at] as JsonObject, element, meta, elementPath);
      else merged.push(strategicMerge({}, element, meta, elementPath));
    }
  }
  return Array.isArray(order) ? reorder(merged, order, rule) : merged;
}

/** $setElementOrder: listed elements in the given order, then any others in their current order. */
function reorder(list: Json[], order: Json[], rule: PatchMeta[string] | undefined): Json[] {
  const keyOf = (e: Json): Json => (isObject(e) && rule?.strategy === 'merge' ? (e[rule.mergeKey] ?? null) : e);
  const orderKeys = order.map(keyOf);
  const ranked = list.map((e, i) => {
    const rank = orderKeys.findIndex((k) => JSON.stringify(k) === JSON.stringify(keyOf(e)));
    return { e, rank: rank < 0 ? Number.MAX_SAFE_INTEGER : rank, i };
  });
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
