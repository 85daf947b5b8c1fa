/**
 * The resource verbs every ApiClient offers, as the requests a real client sends (request-paths.ts):
 * a client supplies only how one request goes (a call into the API in-process, or HTTPS) and how a
 * watch runs, so the in-process and the HTTPS client cannot drift apart.
 */
import type { KubeObject } from '../api/types.js';
import { deleteOptionsBody, queryParams, resourcePath } from './request-paths.js';
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

export abstract class ResourceClient implements ApiClient {
  /** One request: the options as query parameters, the body decoded, a PATCH body's type. */
  protected abstract request<T>(
    method: string,
    path: string,
    query: URLSearchParams,
    body?: unknown,
    patchType?: PatchType,
  ): Promise<T>;

  abstract watch(
    r: ResourceRef,
    namespace: string,
    options: WatchOptions,
    onEvent: (e: WatchEvent) => void,
  ): WatchHandle;

  get<T extends KubeObject = KubeObject>(r: ResourceRef, namespace: string, name: string, sub?: string): Promise<T> {
    return this.request('GET', resourcePath(r, namespace, name, sub), new URLSearchParams());
  }

  list<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    return this.request('GET', resourcePath(r, namespace), queryParams(options));
  }

  create<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    obj: KubeObject,
    options: WriteOptions = {},
  ): Promise<T> {
    const name = options.subresource ? obj.metadata.name : undefined;
    return this.request('POST', resourcePath(r, namespace, name, options.subresource), queryParams(options), obj);
  }

  update<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    obj: KubeObject,
    options: WriteOptions = {},
  ): Promise<T> {
    const path = resourcePath(r, namespace, obj.metadata.name, options.subresource);
    return this.request('PUT', path, queryParams(options), obj);
  }

  patch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    name: string,
    type: PatchType,
    patch: unknown,
    options: WriteOptions = {},
  ): Promise<T> {
    const path = resourcePath(r, namespace, name, options.subresource);
    return this.request('PATCH', path, queryParams(options), patch, type);
  }

  delete(r: ResourceRef, namespace: string, name: string, options: DeleteOptions = {}): Promise<KubeObject> {
    return this.request('DELETE', resourcePath(r, namespace, name), new URLSearchParams(), deleteOptionsBody(options));
  }
}
