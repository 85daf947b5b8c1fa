/**
 * Kubernetes strategic merge patch: PATCH application/strategic-merge-patch+json, what client-side
 * `kubectl apply`, `kubectl edit` and `kubectl patch` (its default) send. Maps merge as in a merge
 * patch; lists follow the kind's PatchMeta (a merge key, or a set of primitives), else are replaced;
 * the directives ($patch, $retainKeys, $setElementOrder, $deleteFromPrimitiveList) as upstream.
 */
import type { PatchTypeProvider } from 'skiff/sdk';
import { errors } from 'skiff/sdk';
import { ownValue, type PatchMeta, setOwn } from 'skiff/sdk/api';
import { isObject, type Json, type JsonObject } from './json.js';

export const strategicMergePatchType: PatchTypeProvider = {
  type: 'strategic',
  mediaType: 'application/strategic-merge-patch+json',
  apply(original, patch, meta) {
    if (!isObject(patch)) throw errors.badRequest('a strategic merge patch must be a JSON object');
    return strategicMerge(original as JsonObject, patch, meta, '');
  },
};

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
