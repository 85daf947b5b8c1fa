/**
 * A small ApiClient over plain HTTP (fetch), enough for components that get, create and update
 * (leader election): it shows they work over the wire as well as in process. API errors are
 * thrown as StatusErrors built from the server's Status, as the in-process client throws them.
 */
import type { KubeObject } from '../../core/api/types.js';
import type { ApiClient, ResourceRef as Ref } from '../../core/client/types.js';
import { type Status, StatusError, type StatusReason } from '../../core/errors.js';

function path(r: Ref, namespace: string, name?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${r.resource}${name ? `/${name}` : ''}`;
}

async function call<T>(url: string, method: string, body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = (await res.json()) as T | Status;
  if (res.ok) return parsed as T;
  const s = parsed as Status;
  throw new StatusError(
    s.code ?? res.status,
    (s.reason ?? 'InternalError') as StatusReason,
    s.message ?? '',
    s.details,
  );
}

const unsupported = (what: string) => () => Promise.reject(new Error(`the test HTTP client has no ${what}`));

export function httpClient(base: string): ApiClient {
  return {
    get: (r, ns, name) => call(base + path(r, ns, name), 'GET'),
    create: (r, ns, obj) => call(base + path(r, ns), 'POST', obj),
    update: (r, ns, obj) => call(base + path(r, ns, obj.metadata.name), 'PUT', obj),
    list: unsupported('list'),
    patch: unsupported('patch'),
    delete: unsupported('delete') as () => Promise<KubeObject>,
    watch: () => {
      throw new Error('the test HTTP client has no watch');
    },
  };
}
