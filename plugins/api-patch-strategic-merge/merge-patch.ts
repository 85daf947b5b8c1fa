/**
 * JSON merge patch (RFC 7386): PATCH application/merge-patch+json, what `kubectl label`,
 * `annotate` and `patch --type merge` send. Keys walk own properties only, so "__proto__" is data.
 */
import type { PatchTypeProvider } from 'skiff/sdk';
import { errors } from 'skiff/sdk';
import { clone, ownValue, setOwn } from 'skiff/sdk/api';
import { isObject, type Json } from './json.js';

/** RFC 7386. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setOwn(out, k, mergePatch(ownValue(out, k) ?? null, v));
  }
  return out;
}

export const mergePatchType: PatchTypeProvider = {
  type: 'merge',
  mediaType: 'application/merge-patch+json',
  apply(original, patch) {
    if (!isObject(patch)) throw errors.badRequest('a merge patch must be a JSON object');
    return mergePatch(original as Json, patch) as object;
  },
};
