/**
 * The in-process ApiClient: builds the same RequestInfo an HTTP request would produce and calls the
 * ApiService, so components running inside the server are authorized and admitted exactly like
 * remote ones (as their own identity), without HTTP or JSON round trips.
 */
import type { ApiService } from '../api/api-service.js';
import type { KubeObject } from '../api/types.js';
import type { UserInfo } from '../auth-types.js';
import { parseRequestInfo } from '../server/request-info.js';
import type {
  ApiClient,
  DeleteOptions,
  KubeList,
  ListOptions,
  PatchType,
  ResourceRef,
  WatchEvent,
  WatchHandle,
  WatchOptions,
  WriteOptions,
} from './types.js';

function path(r: ResourceRef, namespace: string, name?: string, subresource?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  let p =
    namespace && r.resource !== 'namespaces'
      ? `${base}/namespaces/${namespace}/${r.resource}`
      : `${base}/${r.resource}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

function query(options: object): URLSearchParams {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined || v === null || k === 'subresource' || k === 'preconditions') continue;
    q.set(k, k === 'dryRun' ? (v ? 'All' : '') : String(v));
    if (k === 'dryRun' && !v) q.delete(k);
  }
  return q;
}

/**
 * Freezes `obj` and everything it holds, so a mutation throws instead of changing what every other
 * reader of the watch cache sees. Objects already frozen are taken as frozen through, so a cache
 * object shared by many watchers is walked once. Not walked into: the insides of
 * managedFields[].fieldsV1, opaque to clients (upstream's FieldsV1 is raw bytes) and half the
 * objects of a typical pod; only their top object is frozen.
 */
export function deepFreeze<T>(obj: T): T {
  if (typeof obj !== 'object' || obj === null || Object.isFrozen(obj)) return obj;
  Object.freeze(obj);
  // for…in, not Object.values: no array per object.
  for (const k in obj) {
    const v = (obj as Record<string, unknown>)[k];
    if (k === 'managedFields' && Array.isArray(v)) freezeManagedFields(v);
    else deepFreeze(v);
  }
  return obj;
}

function freezeManagedFields(entries: unknown[]): void {
  if (Object.isFrozen(entries)) return;
  Object.freeze(entries);
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null || Object.isFrozen(entry)) continue;
    Object.freeze(entry);
    for (const k in entry) {
      const v = (entry as Record<string, unknown>)[k];
      if (k === 'fieldsV1') Object.freeze(v);
      else deepFreeze(v);
    }
  }
}

export class InProcessClient implements ApiClient {
  constructor(
    private readonly api: ApiService,
    private readonly user: UserInfo,
  ) {}

  private async call<T>(
    method: string,
    p: string,
    q: URLSearchParams,
    body?: unknown,
    patchType?: PatchType,
  ): Promise<T> {
    const info = parseRequestInfo(method, p, q);
    // The store may hand back objects that live in the watch cache: give callers their own copy.
    const outcome = await this.api.handle({ info, user: this.user, query: q, body: structuredClone(body), patchType });
    return structuredClone(outcome.body) as T;
  }

  get<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    name: string,
    subresource?: string,
  ): Promise<T> {
    return this.call('GET', path(r, namespace, name, subresource), new URLSearchParams());
  }

  list<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    return this.call('GET', path(r, namespace), query(options));
  }

  create<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    obj: KubeObject,
    options: WriteOptions = {},
  ): Promise<T> {
    const name = options.subresource ? obj.metadata.name : undefined;
    return this.call('POST', path(r, namespace, name, options.subresource), query(options), obj);
  }

  update<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    obj: KubeObject,
    options: WriteOptions = {},
  ): Promise<T> {
    return this.call('PUT', path(r, namespace, obj.metadata.name, options.subresource), query(options), obj);
  }

  patch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    name: string,
    type: PatchType,
    patch: unknown,
    options: WriteOptions = {},
  ): Promise<T> {
    return this.call('PATCH', path(r, namespace, name, options.subresource), query(options), patch, type);
  }

  delete(r: ResourceRef, namespace: string, name: string, options: DeleteOptions = {}): Promise<KubeObject> {
    const { preconditions, ...rest } = options;
    return this.call('DELETE', path(r, namespace, name), query(rest), preconditions ? { preconditions } : undefined);
  }

  watch(r: ResourceRef, namespace: string, options: WatchOptions, onEvent: (e: WatchEvent) => void): WatchHandle {
    return this.watchWith(r, namespace, options, onEvent, structuredClone);
  }

  /**
   * A watch whose events carry the watch cache's own objects, deep-frozen, instead of copies: what
   * informers use (see SharedObjectWatch in informer.ts). Copying every event was most of what a
   * controller watching pods cost the server; freezing makes a mutation throw instead of
   * corrupting what every other reader of the cache sees.
   */
  watchFrozen(r: ResourceRef, namespace: string, options: WatchOptions, onEvent: (e: WatchEvent) => void): WatchHandle {
    return this.watchWith(r, namespace, options, onEvent, deepFreeze);
  }

  private watchWith(
    r: ResourceRef,
    namespace: string,
    options: WatchOptions,
    onEvent: (e: WatchEvent) => void,
    own: (obj: KubeObject) => KubeObject,
  ): WatchHandle {
    const q = query({ ...options, watch: 'true' });
    const info = parseRequestInfo('GET', path(r, namespace), q);
    let resolveDone!: () => void;
    const done = new Promise<void>((res) => {
      resolveDone = res;
    });
    let cancel: (() => void) | undefined;
    let stopped = false;
    const timer = options.timeoutSeconds ? setTimeout(() => handle.stop(), options.timeoutSeconds * 1000) : undefined;
    const handle: WatchHandle = {
      stop() {
        if (stopped) return;
        stopped = true;
        if (timer) clearTimeout(timer);
        cancel?.();
        resolveDone();
      },
      done,
    };
    this.api
      .watch(
        { info, user: this.user, query: q },
        (e) => {
          if (!stopped) onEvent({ type: e.type, object: own(e.object) } as WatchEvent);
        },
        () => handle.stop(),
      )
      .then((w) => {
        cancel = () => w.cancel();
        if (stopped) w.cancel();
      })
      .catch((err: unknown) => {
        const status = (err as { toStatus?: () => unknown }).toStatus?.() ?? { message: String(err) };
        if (!stopped) onEvent({ type: 'ERROR', object: status as KubeObject });
        handle.stop();
      });
    return handle;
  }
}
