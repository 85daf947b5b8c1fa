/**
 * PATCH application/json-patch+json as upstream's patch handler: the body must be a list of
 * operation objects (400), at most MAX_JSON_PATCH_OPERATIONS of them (413), and a patch that does
 * not apply is a 422 with the engine's (json-patch.ts) text as its cause.
 */
import { errors, type PatchTypeProvider, patchRejected } from 'skiff/sdk';
import { StatusError } from 'skiff/sdk/api';
import { applyJsonPatch, JsonPatchError } from './json-patch.js';

type Json = Parameters<typeof applyJsonPatch>[0];

/** Upstream's maxJSONPatchOperations. */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

/** `original` is the caller's copy: the operations change it in place. */
function applyOperations(original: object, patch: unknown): object {
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
    patched = applyJsonPatch(original as Json, patch);
  } catch (err) {
    if (err instanceof JsonPatchError) throw patchRejected(err.message);
    throw err;
  }
  if (typeof patched !== 'object' || patched === null || Array.isArray(patched))
    throw patchRejected('the patched document is not an object');
  return patched;
}

export const jsonPatchType: PatchTypeProvider = {
  type: 'json',
  mediaType: 'application/json-patch+json',
  apply: (original, patch) => applyOperations(original, patch),
};
