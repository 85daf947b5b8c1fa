/**
 * The plugin SDK: everything a third-party plugin needs, from one import.
 *
 *   import { definePlugin, forbidden, type AdmissionPlugin } from 'skiff/sdk';
 *
 * Inside this repository `skiff/sdk` resolves through tsconfig.json's `paths` (the `skiff` launcher
 * names that tsconfig, so it works from any directory); installed as a package, through the
 * `exports` map of package.json. Plugins must not import other core files: what is not exported
 * here may change without notice.
 */
import type { ApiService } from './api/api-service.js';
import type { KubeObject, ObjectStore } from './api/types.js';
import type { AdmissionAttributes } from './auth-types.js';
import { errors, isStatusError, type StatusError } from './errors.js';
import type { PluginContext } from './plugins/contract.js';

export { generateNameSuffix } from './api/meta.js';
export {
  canonicalQuantity,
  formatQuantity,
  parseQuantity,
  parseQuantityWithFormat,
  type Quantity,
  type QuantityFormat,
} from './api/quantity.js';
export type { KubeObject, ObjectMeta, ObjectStore, ResourceDefinition } from './api/types.js';
export type {
  AdmissionAttributes,
  AdmissionOperation,
  AdmissionPlugin,
  AuthorizationAttributes,
  AuthorizationDecision,
  UserInfo,
} from './auth-types.js';
export { type ChangeType, delay, Informer, objectKey, WorkQueue } from './client/informer.js';
export type { ApiClient, KubeList, ResourceRef, WatchEvent } from './client/types.js';
export { CORE_V1 } from './client/types.js';
export type { FieldError, StatusError } from './errors.js';
export type { Controller, ControllerContext, ControllerRegistration } from './hooks.js';
export type { Contributions, PluginContext, PluginManifest, ServerSettings } from './plugins/contract.js';
export { definePlugin } from './plugins/contract.js';
export { errors, isStatusError };

/**
 * Reject an admission request as upstream's admission.NewForbidden does:
 * `pods "web" is forbidden: <reason>` with status 403 and reason Forbidden.
 */
export function forbidden(attributes: AdmissionAttributes, reason: string): StatusError {
  const { group, resource } = attributes.resource;
  return errors.forbidden(
    { group, resource },
    attributes.name || attributes.object?.metadata.generateName || '',
    reason,
  );
}

/** Whether a request is about this resource (and no subresource): `isResource(a, '', 'pods')`. */
export function isResource(attributes: AdmissionAttributes, group: string, resource: string): boolean {
  return attributes.resource.group === group && attributes.resource.resource === resource && !attributes.subresource;
}

/** A namespace that exists and is not being deleted: controllers that fill namespaces act only on these. */
export function isActiveNamespace(ns: KubeObject | undefined): boolean {
  return (
    ns !== undefined && !ns.metadata.deletionTimestamp && (ns.status as { phase?: string })?.phase !== 'Terminating'
  );
}

/**
 * Reads for plugins, from the server's watch caches: cheap enough for every admission call. Use it
 * only in the API server process (admission always runs there). `get` and `list` are consistent: they first wait for the
 * cache to hold every write made so far. `peek` and `peekList` are upstream's listers: what the
 * cache holds now, which may trail the newest write by a moment, answered without waiting. As
 * upstream's admission plugins do, peek first and, when the cache has nothing, ask `get` or `list`
 * (upstream's live lookup): an object created a moment ago is then still found.
 */
export interface CachedObjects {
  /** The object, or undefined when it does not exist. */
  get(group: string, version: string, plural: string, namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Every object of a resource in a namespace ('' for cluster-scoped ones or all namespaces). */
  list(group: string, version: string, plural: string, namespace: string): Promise<KubeObject[]>;
  /** The object as the cache holds it now; undefined when the cache does not hold it (yet). */
  peek(group: string, version: string, plural: string, namespace: string, name: string): KubeObject | undefined;
  /** Every object of a resource in a namespace as the cache holds them now. */
  peekList(group: string, version: string, plural: string, namespace: string): KubeObject[];
  /**
   * Upstream's lister with its live lookup, for policy objects (LimitRanges, quotas): the cache's
   * objects, answered at once; when the cache has none, a consistent `list`, whose empty answer is
   * then trusted for 30 s (upstream's liveLookupCache), so a namespace without any costs one
   * lookup, not one per request.
   */
  listOrLookup(group: string, version: string, plural: string, namespace: string): KubeObject[] | Promise<KubeObject[]>;
}

/** How long an empty live lookup is trusted (upstream's liveLookupCache TTL). */
const EMPTY_LOOKUP_TTL_MS = 30_000;

export function cachedObjects(ctx: Pick<PluginContext<unknown>, 'container'>): CachedObjects {
  // Resolved on first use (plugins are set up before the API service exists), then kept.
  let service: ApiService | undefined;
  const api = () => {
    service ??= ctx.container.resolve<ApiService>('api');
    return service;
  };
  // Namespaces whose live lookup found nothing, until when that is trusted.
  const emptyUntil = new Map<string, number>();
  return {
    async get(group, version, plural, namespace, name) {
      try {
        return await api().getCached(group, version, plural, namespace, name);
      } catch (err) {
        if (isStatusError(err) && err.code === 404) return undefined;
        throw err;
      }
    },
    list: (group, version, plural, namespace) => api().listCached(group, version, plural, namespace),
    peek: (group, version, plural, namespace, name) => api().peekCached(group, version, plural, namespace, name),
    peekList: (group, version, plural, namespace) => api().peekListCached(group, version, plural, namespace),
    listOrLookup(group, version, plural, namespace) {
      const cached = api().peekListCached(group, version, plural, namespace);
      const key = `${group}/${plural}/${namespace}`;
      if (cached.length || (emptyUntil.get(key) ?? 0) >= Date.now()) return cached;
      return api()
        .listCached(group, version, plural, namespace)
        .then((items) => {
          if (items.length === 0) emptyUntil.set(key, Date.now() + EMPTY_LOOKUP_TTL_MS);
          else emptyUntil.delete(key);
          return items;
        });
    },
  };
}

/**
 * The store of a resource, for plugins that must write around the request pipeline (e.g. charging
 * a quota's status). Writes still run the kind's strategy and admission. Call it after setup.
 */
export function storeOf(
  ctx: Pick<PluginContext<unknown>, 'container'>,
  group: string,
  version: string,
  plural: string,
): ObjectStore {
  const store = ctx.container.resolve<ApiService>('api').storeFor(group, version, plural);
  if (!store) throw new Error(`no resource ${plural}${group ? `.${group}` : ''}/${version} is served`);
  return store;
}
