/** The request paths and query parameters both clients build: the same a real client sends. */
import type { DeleteOptions, ResourceRef } from './types.js';

export function resourcePath(r: ResourceRef, namespace: string, name?: string, subresource?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  let p =
    namespace && r.resource !== 'namespaces'
      ? `${base}/namespaces/${encodeURIComponent(namespace)}/${r.resource}`
      : `${base}/${r.resource}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

/** Options as query parameters (dryRun: true → All; subresource and preconditions are not parameters). */
export function queryParams(options: object): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined || v === null || k === 'subresource' || k === 'preconditions') continue;
    if (k === 'dryRun') {
      if (v) q.set(k, 'All');
    } else q.set(k, String(v));
  }
  return q;
}

/**
 * DELETE options as client-go sends them: a DeleteOptions body, never query parameters. The server
 * reads a DELETE's options from its body when it has one, and then ignores the query, as upstream.
 */
export function deleteOptionsBody(options: DeleteOptions): Record<string, unknown> | undefined {
  const { dryRun, ...rest } = options;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) fields[k] = v;
  if (dryRun) fields.dryRun = ['All'];
  return Object.keys(fields).length > 0 ? { kind: 'DeleteOptions', apiVersion: 'v1', ...fields } : undefined;
}

export function queryString(options: object): string {
  const s = queryParams(options).toString();
  return s ? `?${s}` : '';
}
