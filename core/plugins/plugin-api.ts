/**
 * `ctx.api`: what a plugin may ask of the API server it runs in, as one facade over the API
 * service, the registry and the chains. The parts that need storage (stores, caches, clients) work
 * once storage is open, i.e. in bootstrap tasks, lifecycle callbacks and request handling, never
 * during setup; the registry and the chains work at any time.
 */
import type { ApiService } from '../api/api-service.js';
import type { ResourceRegistry } from '../api/registry.js';
import type { KubeObject, ObjectStore, ResourceDefinition } from '../api/types.js';
import type {
  AuthenticationRequest,
  AuthorizationAttributes,
  AuthorizationDecision,
  RuleResolver,
  UserInfo,
} from '../auth-types.js';
import {
  type AuthenticationOutcome,
  type ListedRules,
  listRules,
  runAuthentication,
  runAuthorization,
} from '../chains.js';
import type { ApiClient } from '../client/types.js';
import { isStatusError } from '../errors.js';
import type { ControllerRegistration, Hooks } from '../hooks.js';
import type { Storage } from '../storage/types.js';

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

/** Requests in flight (upstream's max-in-flight filter): the highest count of each kind in the last second. */
export interface InflightWatermark {
  readonly readOnly: number;
  readonly mutating: number;
}

/** The served resources, read-only. */
export interface ResourceCatalog {
  find(group: string, version: string, plural: string): ResourceDefinition | undefined;
  all(): readonly ResourceDefinition[];
}

export interface PluginApi {
  /** The store of a served resource, for writes around the request pipeline (strategy and admission still run). */
  store(group: string, version: string, plural: string): ObjectStore;
  /** Watch-cache reads (one set per plugin, so its live-lookup memory is its own). */
  readonly cached: CachedObjects;
  /**
   * An in-process client acting as `user` (default: system:apiserver in system:masters). Its
   * `userAgent`, as an HTTP client's, names the field manager of its writes (default "skiff").
   */
  client(user?: UserInfo, userAgent?: string): ApiClient;
  readonly registry: ResourceCatalog;
  /** The opened storage backend (for allocation claims kept beside the objects). */
  storage(): Storage;
  readonly authorization: {
    /** Runs the authorization chain (what a SubjectAccessReview answers). */
    check(attributes: AuthorizationAttributes): Promise<AuthorizationDecision>;
    /** Every authorizer's rules for a user in a namespace (SelfSubjectRulesReview). */
    rules(user: UserInfo, namespace: string): ListedRules;
  };
  readonly authentication: {
    /** Runs the authentication chain (what a TokenReview answers). */
    authenticate(request: AuthenticationRequest): Promise<AuthenticationOutcome>;
  };
  /** Load on the server (upstream's apiserver_current_inflight_requests), once it serves requests. */
  inflightWatermark(): InflightWatermark;
  /**
   * The controllers plugins registered with `ctx.provide.controller`, in plugin order: what a
   * controller manager runs. Complete once every plugin is set up (bootstrap tasks, onReady).
   */
  controllers(): Promise<ControllerRegistration[]>;
}

/** What the server fills in once storage is open. */
export interface OpenedApi {
  api: ApiService;
  storage: Storage;
  client(user?: UserInfo, userAgent?: string): ApiClient;
  inflightWatermark(): InflightWatermark;
}

export interface PluginApiDeps {
  hooks: Hooks;
  registry: ResourceRegistry;
  ruleResolvers: ReadonlyMap<string, RuleResolver | undefined>;
  /** Undefined until storage is open (and for ever in `skiff config check` and the controller manager). */
  opened(): OpenedApi | undefined;
}

function notOpen(what: string): Error {
  return new Error(
    `ctx.api.${what} is usable once storage is open (in bootstrap tasks, onReady, controllers and requests), not during setup or in processes without storage`,
  );
}

export function createPluginApi(deps: PluginApiDeps): PluginApi {
  const opened = (what: string) => {
    const o = deps.opened();
    if (!o) throw notOpen(what);
    return o;
  };
  return {
    store(group, version, plural) {
      const store = opened('store()').api.storeFor(group, version, plural);
      if (!store) throw new Error(`no resource ${plural}${group ? `.${group}` : ''}/${version} is served`);
      return store;
    },
    cached: cachedObjectsOver(() => opened('cached').api),
    client: (user, userAgent) => opened('client()').client(user, userAgent),
    registry: deps.registry,
    storage: () => opened('storage()').storage,
    authorization: {
      check: (attributes) => runAuthorization(deps.hooks, attributes),
      rules: (user, namespace) => listRules(deps.hooks, deps.ruleResolvers, user, namespace),
    },
    authentication: { authenticate: (request) => runAuthentication(deps.hooks, request) },
    inflightWatermark: () => opened('inflightWatermark()').inflightWatermark(),
    controllers: () => registeredControllers(deps.hooks),
  };
}

/** Every registration the plugins made with ctx.provide.controller, in plugin order. */
async function registeredControllers(hooks: Hooks): Promise<ControllerRegistration[]> {
  const registrations: ControllerRegistration[] = [];
  await hooks.registerControllers.promise({ register: (r) => registrations.push(r) });
  return registrations;
}

/** How long an empty live lookup is trusted (upstream's liveLookupCache TTL). */
const EMPTY_LOOKUP_TTL_MS = 30_000;

export type CachedReads = Pick<ApiService, 'getCached' | 'listCached' | 'peekCached' | 'peekListCached'>;

/** CachedObjects over the API service's watch caches (exported for tests that fake the service). */
export function cachedObjectsOver(api: () => CachedReads): CachedObjects {
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
