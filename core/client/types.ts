/**
 * The client interface every component (controllers, scheduler, kubelet, bootstrap tasks) uses to
 * talk to the API. Two implementations: in-process (core/client/in-process.ts, through the same
 * authenticate → authorize → admit → store pipeline as HTTP) and HTTPS (for separate processes).
 */
import type { KubeObject } from '../api/types.js';

export interface ResourceRef {
  group: string;
  version: string;
  /** The plural: "pods". */
  resource: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type PatchType = 'json' | 'merge' | 'strategic';

export interface WriteOptions {
  dryRun?: boolean;
  subresource?: string;
  fieldManager?: string;
}

export interface DeleteOptions {
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export interface WatchHandle {
  stop(): void;
  /** Resolves when the watch ends (stopped, timed out, or the server closed it). */
  done: Promise<void>;
}

export interface ApiClient {
  get<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    name: string,
    subresource?: string,
  ): Promise<T>;
  list<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    options?: ListOptions,
  ): Promise<KubeList<T>>;
  create<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    obj: KubeObject,
    options?: WriteOptions,
  ): Promise<T>;
  update<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    obj: KubeObject,
    options?: WriteOptions,
  ): Promise<T>;
  patch<T extends KubeObject = KubeObject>(
    r: ResourceRef,
    namespace: string,
    name: string,
    type: PatchType,
    patch: unknown,
    options?: WriteOptions,
  ): Promise<T>;
  delete(r: ResourceRef, namespace: string, name: string, options?: DeleteOptions): Promise<KubeObject>;
  watch(r: ResourceRef, namespace: string, options: WatchOptions, onEvent: (e: WatchEvent) => void): WatchHandle;
}

export const CORE_V1 = (resource: string): ResourceRef => ({ group: '', version: 'v1', resource });
