/**
 * What core does around a PATCH. The patch types themselves are plugins': JSON patch, JSON merge
 * patch and strategic merge patch come through `ctx.provide.patchType`, an apply patch through the
 * field manager (field-manager.ts). Core picks the one a PATCH's media type names, answers
 * upstream's 415 (listing the served ones) for any other, checks PatchOptions, and refuses a
 * patched object that nests too deep before anything recursive meets it.
 */

import { errors, StatusError } from '../errors.js';
import { MAX_OBJECT_DEPTH, nestingExceeds, TOO_DEEP } from './depth.js';
import { APPLY_PATCH_MEDIA_TYPE, type FieldManager } from './field-manager.js';
import { clone } from './meta.js';
import type { PatchMeta } from './types.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** Each patch type's media type, in upstream's order (the order a 415 lists them in). */
const MEDIA_TYPE_OF: Readonly<Record<PatchType, string>> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: APPLY_PATCH_MEDIA_TYPE,
};

/** Every patch media type the API knows, served or not. */
export const PATCH_MEDIA_TYPES = Object.values(MEDIA_TYPE_OF);

/** The patch type a media type (lower case, no parameters) names, if any. */
export function patchTypeOf(mediaType: string): PatchType | undefined {
  return (Object.keys(MEDIA_TYPE_OF) as PatchType[]).find((t) => MEDIA_TYPE_OF[t] === mediaType);
}

/** A patch type a plugin serves (`ctx.provide.patchType`); an apply patch is the field manager's. */
export interface PatchTypeProvider {
  readonly type: Exclude<PatchType, 'apply'>;
  /** The Content-Type a PATCH of this type comes in: upstream's for the type. */
  readonly mediaType: string;
  /**
   * The patched object. `original` is a copy the provider owns (it may change and return it);
   * `meta` is the kind's strategic-merge-patch metadata ({} for subresources). A bad patch is the
   * client's StatusError (400, or `patchRejected`'s 422), never a plain Error.
   */
  apply(original: object, patch: unknown, meta: PatchMeta): object;
}

/** Why core refuses a patch type a plugin offers (undefined: it may serve it). */
export function patchTypeRefusal(provider: PatchTypeProvider): string | undefined {
  const type: string = provider.type;
  if (type === 'apply' || !Object.hasOwn(MEDIA_TYPE_OF, type))
    return `"${type}" is not a patch type a plugin may offer (json, merge or strategic; apply is the field manager's)`;
  const expected = MEDIA_TYPE_OF[type as PatchType];
  return provider.mediaType === expected ? undefined : `the ${type} patch's media type is ${expected}`;
}

/** The patch types a server serves: the plugins' ones, and an apply patch with a field manager. */
export class ServedPatches {
  private readonly providers = new Map<PatchType, PatchTypeProvider>();
  /** Fixed once the plugins are set up; read on every PATCH. */
  private readonly servedMediaTypes: readonly string[];

  constructor(
    provided: readonly PatchTypeProvider[],
    private readonly fields?: FieldManager,
  ) {
    for (const p of provided) this.providers.set(p.type, p);
    this.servedMediaTypes = (Object.keys(MEDIA_TYPE_OF) as PatchType[])
      .filter((t) => (t === 'apply' ? this.fields : this.providers.has(t)))
      .map((t) => MEDIA_TYPE_OF[t]);
  }

  /** The served patch media types, in upstream's order. */
  mediaTypes(): readonly string[] {
    return this.servedMediaTypes;
  }

  /** A PATCH's type, or upstream's 415 (listing the served ones) for one the server does not serve. */
  served(type: PatchType | undefined): PatchType {
    if (type && (type === 'apply' ? this.fields : this.providers.has(type))) return type;
    throw errors.unsupportedMediaType(type ? MEDIA_TYPE_OF[type] : '', [...this.servedMediaTypes]);
  }

  /** A new object: `patch` applied to a copy of `original` (an apply patch without field ownership). */
  apply(original: object, type: PatchType, patch: unknown, meta: PatchMeta = {}): object {
    const served = this.served(type);
    const copy = clone(original);
    const patched =
      served === 'apply'
        ? this.fields!.mergeApplied(copy, patch, meta) // subresources; the main resource applies in apply-request.ts
        : this.providers.get(served)!.apply(copy, patch, meta);
    // A JSON patch's add or copy can put a deep value under a deep path: the result may nest deeper
    // than either input. Upstream's decoder refuses the patched object (422 on "patch").
    if (nestingExceeds(patched, MAX_OBJECT_DEPTH))
      throw patchRejected(`the patched object is nested too deeply: ${TOO_DEEP}`);
    return patched;
  }
}

/**
 * Upstream answers a patch that does not apply with a bare 422 ("the server rejected our request
 * due to an error in our request"); the cause says why, which kubectl prints.
 */
export function patchRejected(why: string): StatusError {
  return new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
    causes: [{ field: 'patch', message: why }],
  });
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
