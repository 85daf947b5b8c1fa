/**
 * The transport-independent API: one call = a parsed RequestInfo, a user, the query and a decoded
 * body. HTTP (core/server) and the in-process client both go through here, so authorization,
 * admission and storage semantics are identical whichever way a request arrives.
 */
import type { AuditRecord, UserInfo } from '../auth-types.js';
import { canonicalStatus, errors } from '../errors.js';
import type { Hooks } from '../hooks.js';
import type { Storage } from '../storage/types.js';
import type { ApiCall, ApiOutcome, Served } from './api-call.js';
import { serveApply } from './apply-request.js';
import { authorizeRequest } from './authorize.js';
import { deprecationWarning } from './deprecation.js';
import type { FieldManager } from './field-manager.js';
import { type PatchType, type PatchTypeProvider, ServedPatches } from './patch.js';
import { refuseUnknownApplyFields } from './patch-fields.js';
import type { ResourceRegistry } from './registry.js';
import { storagePrefix } from './registry.js';
import type { RequestInfo } from './request-info.js';
import { created, deleteOptionsOf, dryRun, listQuery, requireObject, watchQuery } from './request-options.js';
import type { ResourceCacheProvider } from './resource-cache.js';
import { type DeleteOptions, GenericStore, type WriteScope } from './store/generic-store.js';
import { ResourceReader } from './store/reader.js';
import { RecentWrites } from './store/recent-writes.js';
import { patchStored, serveSubresource } from './subresource-requests.js';
import type { KubeObject, ResourceDefinition } from './types.js';
import { ALL_VERBS } from './types.js';
import type { CacheEvent } from './watch-events.js';

export type { ApiCall, ApiOutcome } from './api-call.js';
export { PATCH_MEDIA_TYPES, type PatchType, type PatchTypeProvider, patchTypeOf } from './patch.js';

export class ApiService {
  private readonly served = new Map<string, Served>();
  private readonly patches: ServedPatches;

  constructor(
    private readonly registry: ResourceRegistry,
    private readonly storage: Storage,
    private readonly hooks: Hooks,
    /** The watch caches, when a plugin provides them (api-watch-cache). */
    private readonly caches?: ResourceCacheProvider,
    /** Server-side apply and managedFields, when a plugin offers them. */
    private readonly fields?: FieldManager,
    /** The other patch types plugins serve (JSON, merge, strategic merge). */
    patchTypes: readonly PatchTypeProvider[] = [],
  ) {
    this.patches = new ServedPatches(patchTypes, fields);
  }

  /**
   * Build a store and a reader for every registered resource, each with the watch cache the
   * provider gives it (none: read from storage), and fill the caches.
   */
  async start(): Promise<void> {
    // One for every kind: copies are found by their stored text, whatever the kind.
    const recent = new RecentWrites();
    for (const def of this.registry.all()) {
      const cache = def.virtualCreate
        ? undefined
        : this.caches?.({ def, storage: this.storage, prefix: storagePrefix(def), decode: (kv) => recent.decode(kv) });
      // Without a cache no one takes a copy of a write, so the store keeps none.
      const store = new GenericStore(def, this.storage, this.hooks, cache ? recent : undefined, this.fields);
      const served: Served = { def, store };
      if (!def.virtualCreate) served.reader = new ResourceReader(def, this.storage, cache);
      this.served.set(`${def.group}/${def.version}/${def.plural}`, served);
    }
    await Promise.all([...this.served.values()].map((s) => s.reader?.cache?.start()));
  }

  stop(): void {
    for (const s of this.served.values()) s.reader?.cache?.stop();
  }

  /** The store of a resource, for plugins and subresource handlers. */
  storeFor(group: string, version: string, plural: string): GenericStore | undefined {
    return this.served.get(`${group}/${version}/${plural}`)?.store;
  }

  /**
   * An object as the watch cache has it (consistent with the newest write), for plugins that read on
   * the hot path, e.g. authenticators checking that a service account still exists.
   */
  async getCached(
    group: string,
    version: string,
    plural: string,
    namespace: string,
    name: string,
  ): Promise<KubeObject> {
    const served = this.served.get(`${group}/${version}/${plural}`);
    if (!served) throw errors.notFoundPath();
    const key = served.store.key(namespace, name);
    return served.reader ? served.reader.get(key, name) : served.store.get(namespace, name);
  }

  /**
   * The object as the watch cache holds it now, without waiting for the newest writes to reach it
   * (upstream's listers): undefined when it is not there or the resource has no cache.
   */
  peekCached(group: string, version: string, plural: string, namespace: string, name: string): KubeObject | undefined {
    const served = this.served.get(`${group}/${version}/${plural}`);
    return served?.reader?.cache?.get(served.store.key(namespace, name));
  }

  /** Every object of a resource in one namespace ('' = all) as the watch cache holds them now (none without one). */
  peekListCached(group: string, version: string, plural: string, namespace: string): KubeObject[] {
    const served = this.served.get(`${group}/${version}/${plural}`);
    if (!served?.reader?.cache) return [];
    const scope = served.def.namespaced && namespace ? namespace : undefined;
    return served.reader.cache.list({ namespace: scope }).items.map((i) => i.object);
  }

  /**
   * Every object of a resource in one namespace ('' = all), as the watch cache has them (caught up
   * with the newest write): for admission plugins that read policy objects (LimitRanges, quotas).
   */
  async listCached(group: string, version: string, plural: string, namespace: string): Promise<KubeObject[]> {
    const served = this.served.get(`${group}/${version}/${plural}`);
    if (!served?.reader) throw errors.notFoundPath();
    return (await served.reader.list(namespace, {})).items;
  }

  private servedFor(info: RequestInfo): Served {
    const served = this.served.get(`${info.apiGroup}/${info.apiVersion}/${info.resource}`);
    if (!served) throw errors.notFoundPath();
    if (
      info.name === '' &&
      info.subresource === '' &&
      info.namespace &&
      !served.def.namespaced &&
      info.resource !== 'namespaces'
    ) {
      throw errors.notFoundPath();
    }
    return served;
  }

  authorize(info: RequestInfo, user: UserInfo, audit?: AuditRecord): Promise<void> {
    return authorizeRequest(this.hooks, info, user, audit);
  }

  async handle(call: ApiCall): Promise<ApiOutcome> {
    // Authorization comes first, as upstream's filter chain: an unauthorized user learns nothing,
    // not even whether the resource exists.
    await this.authorize(call.info, call.user, call.audit);
    return this.handleAuthorized(call);
  }

  /**
   * handle() for a caller that has authorized this very call already: the HTTP app does, before it
   * reads the body (as upstream's authorization filter runs before the handler decodes anything).
   */
  async handleAuthorized(call: ApiCall): Promise<ApiOutcome> {
    const { info } = call;
    const served = this.servedFor(info);
    this.warnIfDeprecated(served.def, call);
    const sub = info.subresource;
    if (sub) return this.handleSubresource(served, call);
    this.checkVerb(served.def, info.verb);
    const scope = this.scope(call);
    const store = served.store;
    switch (info.verb) {
      case 'get': {
        const key = store.key(info.namespace, info.name);
        const object = served.reader
          ? await served.reader.get(key, info.name, call.query.get('resourceVersion') ?? undefined)
          : await store.get(info.namespace, info.name);
        return { code: 200, body: object };
      }
      case 'list':
        return { code: 200, body: await served.reader!.list(this.namespaceOf(served, info), listQuery(call.query)) };
      case 'create': {
        if (info.name) throw errors.methodNotAllowed();
        const body = requireObject(call.body);
        if (served.def.virtualCreate)
          return created(await served.def.virtualCreate(info.namespace, body, scope.dryRun, call.user));
        return { code: 201, body: await store.create(scope, body) };
      }
      case 'update': {
        const { object, created } = await store.update(scope, info.name, requireObject(call.body));
        return { code: created ? 201 : 200, body: object };
      }
      case 'patch': {
        if (this.patchTypeOf(call) !== 'apply')
          return { code: 200, body: await this.patch(served, scope, info.name, call) };
        refuseUnknownApplyFields(call.body, served.def);
        const applied = await serveApply(this.fields!, store, scope, info.name, call.body, call.query);
        return { code: applied.created ? 201 : 200, body: applied.object };
      }
      case 'delete': {
        const { options, dryRun } = deleteOptionsOf(call.body, call.query);
        return this.delete(served, { ...scope, dryRun }, info.name, options);
      }
      case 'deletecollection':
        return this.deleteCollection(served, call);
      default:
        throw errors.methodNotAllowed();
    }
  }

  /** Start a watch after authorizing it; events arrive already encoded once for every watcher. */
  async watch(call: ApiCall, onEvent: (e: CacheEvent) => void, onClose?: () => void): Promise<{ cancel(): void }> {
    await this.authorize(call.info, call.user, call.audit);
    return this.watchAuthorized(call, onEvent, onClose);
  }

  /** watch() for a caller that has authorized this very call already (the HTTP app). */
  async watchAuthorized(
    call: ApiCall,
    onEvent: (e: CacheEvent) => void,
    onClose?: () => void,
  ): Promise<{ cancel(): void }> {
    const served = this.servedFor(call.info);
    this.warnIfDeprecated(served.def, call);
    this.checkVerb(served.def, 'watch');
    if (!served.reader || call.info.subresource) throw errors.methodNotAllowed();
    const namespace = this.namespaceOf(served, call.info);
    return served.reader.watch(namespace, watchQuery(call.query, call.info.name), onEvent, onClose);
  }

  /** Upstream adds the warning on every route of a deprecated kind: its own and its /status. */
  private warnIfDeprecated(def: ResourceDefinition, call: ApiCall): void {
    if (!call.warn || (call.info.subresource !== '' && call.info.subresource !== 'status')) return;
    const warning = deprecationWarning(def);
    if (warning) call.warn(warning);
  }

  private namespaceOf(served: Served, info: RequestInfo): string {
    return served.def.namespaced ? info.namespace : '';
  }

  private checkVerb(def: ResourceDefinition, verb: string): void {
    if (!((def.verbs ?? ALL_VERBS) as readonly string[]).includes(verb)) throw errors.methodNotAllowed();
  }

  private scope(call: ApiCall): WriteScope {
    const { info } = call;
    // Only writes to a main resource record their manager, and only with a field manager.
    // Status writes are recorded apart, as upstream (subresource: status); other subresources are not.
    const tracked = this.fields && (!info.subresource || info.subresource === 'status') && TRACKED_VERBS.has(info.verb);
    return {
      user: call.user,
      namespace: info.namespace,
      dryRun: dryRun(call.query),
      subresource: info.subresource,
      warn: call.warn,
      fieldManager: tracked ? this.fields!.managerOf(call.query, call.userAgent) : undefined,
    };
  }

  /** The patch media types served: those plugins offer, an apply patch only with a field manager. */
  patchMediaTypes(): readonly string[] {
    return this.patches.mediaTypes();
  }

  private patchTypeOf(call: ApiCall): PatchType {
    return this.patches.served(call.patchType);
  }

  private patch(served: Served, scope: WriteScope, name: string, call: ApiCall): Promise<KubeObject> {
    return patchStored(served, scope, name, call, this.patches);
  }

  private async delete(served: Served, scope: WriteScope, name: string, options: DeleteOptions): Promise<ApiOutcome> {
    const { object, deleted } = await served.store.delete(scope, name, options);
    if (!deleted || served.def.returnDeletedObject) return { code: 200, body: object };
    // Upstream's finalizeDelete: no code, and the resource (not the kind) in details.kind.
    const details = { name, group: served.def.group, kind: served.def.plural, uid: object.metadata.uid };
    return { code: 200, body: canonicalStatus({ status: 'Success', details }) };
  }

  private async deleteCollection(served: Served, call: ApiCall): Promise<ApiOutcome> {
    const list = await served.reader!.list(this.namespaceOf(served, call.info), listQuery(call.query));
    const { options, dryRun } = deleteOptionsOf(call.body, call.query);
    const scope = { ...this.scope(call), dryRun };
    const items: KubeObject[] = [];
    for (const item of list.items) {
      const itemScope = { ...scope, namespace: item.metadata.namespace ?? '' };
      try {
        items.push((await served.store.delete(itemScope, item.metadata.name!, options)).object);
      } catch (err) {
        // Gone between the list and the delete: someone else finished the job.
        if ((err as { code?: number }).code !== 404) throw err;
      }
    }
    return { code: 200, body: { ...list, items } };
  }

  private handleSubresource(served: Served, call: ApiCall): Promise<ApiOutcome> {
    return serveSubresource(served, call, this.scope(call), this.patches);
  }
}

const TRACKED_VERBS = new Set(['create', 'update', 'patch']);
