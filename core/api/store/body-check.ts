/**
 * What upstream's decoding and the store refuse before anything else runs (400s): a body that is
 * not an object, nests too deep, names another kind or API version or namespace, or has metadata
 * fields of the wrong type; DeleteOptions with values upstream does not take. A body that passes
 * comes back as the object to store, with its kind, apiVersion and namespace set.
 */
import { errors } from '../../errors.js';
import { MAX_OBJECT_DEPTH, nestingExceeds, objectTooDeep } from '../depth.js';
import type { KubeObject, ResourceDefinition } from '../types.js';
import { apiVersionOf } from '../types.js';

/** A write's body as the object to store, or the 400 upstream answers. */
export function checkBody(def: ResourceDefinition, body: KubeObject, namespace: string): KubeObject {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw errors.badRequest('the request body must be a JSON object');
  // Bodies from the wire were measured as they were decoded; this covers in-process writes.
  if (nestingExceeds(body, MAX_OBJECT_DEPTH)) throw objectTooDeep();
  if (body.kind !== undefined && body.kind !== def.kind) {
    throw errors.badRequest(
      `the kind of the object (${String(body.kind)}) does not match the resource (expected ${def.kind})`,
    );
  }
  const apiVersion = apiVersionOf(def);
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) {
    throw errors.badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${apiVersion})`,
    );
  }
  const metadata = body.metadata ?? {};
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw errors.badRequest('metadata must be an object');
  checkMetadataTypes(metadata);
  const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = body;
  const obj: KubeObject = { apiVersion, kind: def.kind, metadata: { ...metadata }, ...rest };
  if (def.namespaced) {
    if (metadata.namespace && metadata.namespace !== namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    obj.metadata.namespace = namespace;
  } else {
    delete obj.metadata.namespace;
  }
  return obj;
}

const STRING_FIELDS = [
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
] as const;

// A function of its own, not a closure made per call: under tsx every closure made gets its name set.
function wrongMetadataType(meta: Record<string, unknown>, field: string, want: string) {
  return errors.badRequest(
    `json: cannot unmarshal ${describe(meta[field])} into Go struct field ObjectMeta.metadata.${field} of type ${want}`,
  );
}

/** What upstream's JSON decoding refuses before anything else runs: wrong types in metadata are a 400. */
function checkMetadataTypes(meta: Record<string, unknown>): void {
  for (const f of STRING_FIELDS)
    if (meta[f] !== undefined && meta[f] !== null && typeof meta[f] !== 'string')
      throw wrongMetadataType(meta, f, 'string');
  for (const f of ['labels', 'annotations']) {
    const v = meta[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw wrongMetadataType(meta, f, 'map[string]string');
    if (Object.values(v).some((x) => typeof x !== 'string')) throw wrongMetadataType(meta, f, 'map[string]string');
  }
  const fin = meta.finalizers;
  if (fin !== undefined && fin !== null && (!Array.isArray(fin) || fin.some((x) => typeof x !== 'string')))
    throw wrongMetadataType(meta, 'finalizers', '[]string');
  const owners = meta.ownerReferences;
  if (
    owners !== undefined &&
    owners !== null &&
    (!Array.isArray(owners) || owners.some((o) => typeof o !== 'object' || o === null))
  ) {
    throw wrongMetadataType(meta, 'ownerReferences', '[]v1.OwnerReference');
  }
  if (meta.generation !== undefined && meta.generation !== null && typeof meta.generation !== 'number')
    throw wrongMetadataType(meta, 'generation', 'int64');
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  return v === null ? 'null' : typeof v;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  /** The legacy form of propagationPolicy (true: Orphan); the two may not be given together. */
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

const PROPAGATION_POLICIES = new Set(['Orphan', 'Background', 'Foreground']);

export function checkDeleteOptions(options: DeleteOptions): void {
  if (options.propagationPolicy && !PROPAGATION_POLICIES.has(options.propagationPolicy)) {
    throw errors.badRequest(
      `propagationPolicy: Unsupported value: "${options.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  if (
    options.gracePeriodSeconds !== undefined &&
    (!Number.isInteger(options.gracePeriodSeconds) || options.gracePeriodSeconds < 0)
  ) {
    throw errors.badRequest('gracePeriodSeconds: must be a non-negative integer');
  }
}
