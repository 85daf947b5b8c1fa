/**
 * The in-process ApiClient: builds the same RequestInfo an HTTP request would produce and calls the
 * ApiService, so components running inside the server are authorized and admitted exactly like
 * remote ones (as their own identity), without HTTP or JSON round trips.
 */
import type { ApiService } from '../api/api-service.js';
import { clone } from '../api/meta.js';
import { parseRequestInfo } from '../api/request-info.js';
import type { KubeObject } from '../api/types.js';
import type { UserInfo } from '../auth-types.js';
import { deepFreeze } from './deep-freeze.js';
import { queryParams, resourcePath } from './request-paths.js';
import { ResourceClient } from './resource-client.js';
import type { PatchType, ResourceRef, WatchEvent, WatchHandle, WatchOptions } from './types.js';

export class InProcessClient extends ResourceClient {
  constructor(
    private readonly api: ApiService,
    private readonly user: UserInfo,
    /** As an HTTP client's User-Agent: names the field manager of its writes (`kubelet/v1.32.0`). */
    private readonly userAgent?: string,
  ) {
    super();
  }

  protected async request<T>(
    method: string,
    p: string,
    q: URLSearchParams,
    body?: unknown,
    patchType?: PatchType,
  ): Promise<T> {
    const info = parseRequestInfo(method, p, q);
    // The store may hand back objects that live in the watch cache: give callers their own copy.
    const call = { info, user: this.user, query: q, body: clone(body), patchType, userAgent: this.userAgent };
    const outcome = await this.api.handle(call);
    return clone(outcome.body) as T;
  }

  override watch(
    r: ResourceRef,
    namespace: string,
    options: WatchOptions,
    onEvent: (e: WatchEvent) => void,
  ): WatchHandle {
    return this.watchWith(r, namespace, options, onEvent, clone);
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
    const q = queryParams({ ...options, watch: 'true' });
    const info = parseRequestInfo('GET', resourcePath(r, namespace), q);
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
