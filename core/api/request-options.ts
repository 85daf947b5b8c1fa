/**
 * What a request's query and body say beyond the object: dryRun, list options, DeleteOptions (from
 * the body or the query, as upstream's handlers read them), and the checks a body must pass first.
 */
import { canonicalStatus, errors, isStatusBody } from '../errors.js';
import type { DeleteOptions } from './store/generic-store.js';
import { parseLimit } from './store/query.js';
import type { ListQuery, WatchQuery } from './store/reader.js';
import type { KubeObject } from './types.js';

/** A create's answer; a Status without a code (pods/binding's Success) gets 201, as upstream's handler sets. */
export function created(body: KubeObject): { code: number; body: unknown } {
  if (isStatusBody(body) && !body.code) return { code: 201, body: canonicalStatus({ ...body, code: 201 }) };
  return { code: 201, body };
}

/** metadata.resourceVersion, when the object has one (a patch may have made metadata anything). */
export function resourceVersionOf(obj: KubeObject): string | undefined {
  const rv = (obj.metadata as unknown as Record<string, unknown> | null | undefined)?.resourceVersion;
  return typeof rv === 'string' ? rv : undefined;
}

export function requireObject(body: unknown): KubeObject {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw errors.badRequest('the request body must be a JSON object');
  const obj = body as KubeObject;
  if (obj.metadata === undefined) obj.metadata = {};
  return obj;
}

export function dryRun(query: URLSearchParams): boolean {
  return dryRunOf(query.getAll('dryRun'));
}

function dryRunOf(values: unknown[]): boolean {
  for (const v of values) {
    if (v !== 'All') throw errors.badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
  }
  return values.length > 0;
}

export function listQuery(q: URLSearchParams): ListQuery {
  return {
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector: q.get('fieldSelector') ?? undefined,
    limit: parseLimit(q.get('limit')),
    continue: q.get('continue') ?? undefined,
    resourceVersion: q.get('resourceVersion') ?? undefined,
    resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
  };
}

/** A watch's options; a watch of one object (…/pods?watch&fieldSelector or …/pods/name) selects it by name. */
export function watchQuery(q: URLSearchParams, name: string): WatchQuery {
  const fieldSelector = name
    ? [q.get('fieldSelector'), `metadata.name=${name}`].filter(Boolean).join(',')
    : (q.get('fieldSelector') ?? undefined);
  return {
    labelSelector: q.get('labelSelector') ?? undefined,
    fieldSelector,
    resourceVersion: q.get('resourceVersion') ?? undefined,
    allowWatchBookmarks: ['true', '1', 'True'].includes(q.get('allowWatchBookmarks') ?? ''),
  };
}

/**
 * A DELETE's options as upstream's handler reads them: from the body when there is one (a
 * DeleteOptions: what kubectl sends, `dryRun: ["All"]` included), else from the query. Never a mix:
 * with a body, upstream ignores the query's dryRun, gracePeriodSeconds and propagationPolicy.
 * Preconditions (uid, resourceVersion: 409 when they do not hold) come only in a body.
 */
export function deleteOptionsOf(body: unknown, q: URLSearchParams): { options: DeleteOptions; dryRun: boolean } {
  if (body === undefined || body === null) {
    const options: DeleteOptions = { propagationPolicy: q.get('propagationPolicy') ?? undefined };
    const grace = q.get('gracePeriodSeconds');
    if (grace !== null) options.gracePeriodSeconds = Number(grace);
    const orphan = q.get('orphanDependents');
    if (orphan !== null) options.orphanDependents = orphan === 'true';
    return { options, dryRun: dryRun(q) };
  }
  if (typeof body !== 'object' || Array.isArray(body))
    throw errors.badRequest('the request body must be a DeleteOptions object');
  const options = body as Record<string, unknown>;
  const dryRunValues = options.dryRun ?? [];
  if (!Array.isArray(dryRunValues)) throw errors.badRequest('dryRun: must be a list, e.g. ["All"]');
  const parsed: DeleteOptions = {
    propagationPolicy: optionalString(options.propagationPolicy, 'propagationPolicy'),
    preconditions: (options.preconditions ?? undefined) as DeleteOptions['preconditions'],
  };
  if (options.gracePeriodSeconds !== undefined && options.gracePeriodSeconds !== null)
    parsed.gracePeriodSeconds = Number(options.gracePeriodSeconds);
  if (typeof options.orphanDependents === 'boolean') parsed.orphanDependents = options.orphanDependents;
  return { options: parsed, dryRun: dryRunOf(dryRunValues) };
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw errors.badRequest(`${field}: must be a string`);
  return value;
}
