/**
 * Runs every enabled plugin's setup with its own context, in load order, and turns each
 * `ctx.provide.*` call into a named tap or registry entry. The contract is core/plugins/contract.ts.
 * This is the one place that touches the service container: a provided service is registered under
 * its key's id, and `ctx.use(key)` resolves it, or names the missing provider.
 */
import { type AwilixContainer, asValue, createContainer } from 'awilix';
import type { Logger } from 'pino';
import type { FieldManager } from '../api/field-manager.js';
import { type PatchTypeProvider, patchTypeRefusal } from '../api/patch.js';
import type { ResourceRegistry } from '../api/registry.js';
import type { ResourceCacheProvider } from '../api/resource-cache.js';
import type { RuleResolver } from '../auth-types.js';
import type { ApiClient } from '../client/types.js';
import type { ResolvedConfig } from '../config/load.js';
import { SkiffError } from '../errors.js';
import type { Hooks } from '../hooks.js';
import type {
  Contributions,
  PluginContext,
  RequestObserver,
  ServerSettings,
  ServingIdentity,
  ServingIdentityRequest,
} from '../plugins/contract.js';
import { createPluginApi, type OpenedApi } from '../plugins/plugin-api.js';
import { declaresProvider, MissingProviderError, type ServiceKey } from '../plugins/services.js';
import type { Storage } from '../storage/types.js';
import type { Serializer } from '../wire/serializer.js';
import { type AdmissionPolicy, guardAdmission } from './admission-guard.js';
import type { HealthCheck } from './health.js';

export type StorageBackends = Map<string, () => Promise<Storage>>;

export interface Bootstrap {
  plugin: string;
  name: string;
  run: (client: ApiClient) => Promise<void>;
}

interface SetupDeps {
  config: ResolvedConfig;
  hooks: Hooks;
  registry: ResourceRegistry;
  logger: Logger;
  settings: ServerSettings;
  healthChecks: HealthCheck[];
  backends: StorageBackends;
  bootstraps: Bootstrap[];
  /** Per authorizer (tap name), its rule lister, if it has one. */
  ruleResolvers: Map<string, RuleResolver | undefined>;
  /** The API once storage is open; undefined before (and in processes that open none). */
  opened(): OpenedApi | undefined;
}

/** The registry behind typed services, one per server: nothing but this file touches it. */
interface HostDeps extends SetupDeps {
  container: AwilixContainer;
}

/** What the plugins contributed that the server reads while it assembles itself. */
export interface HostContributions {
  /** The client CA bundles, joined; undefined when no plugin offers one. */
  clientCA(): string | undefined;
  /** WWW-Authenticate values for 401s, in plugin order. */
  readonly authChallenges: readonly string[];
  readonly serializers: readonly Serializer[];
  /** Told of every answered HTTP request (request metrics), in plugin order. */
  readonly requestObservers: readonly RequestObserver[];
  /** Server-side apply and managedFields tracking, when a plugin offers them. */
  fieldManager(): FieldManager | undefined;
  /** The PATCH formats plugins serve besides apply (JSON, merge, strategic merge). */
  patchTypes(): PatchTypeProvider[];
  /** The watch caches, when a plugin provides them. */
  resourceCache(): ResourceCacheProvider | undefined;
  /** The generated serving certificate, when a plugin offers one (for a secure port without --tls-cert-file). */
  servingIdentity(): (() => Promise<ServingIdentity>) | undefined;
  /** Per plugin, in run order: the contribution points (and services, lifecycle) it used. */
  readonly points: ReadonlyMap<string, readonly string[]>;
}

export interface PluginHost extends HostContributions {
  /** Close every plugin that was set up, in reverse order; errors are logged, not thrown. */
  closeAll(): Promise<void>;
  /** A provided service (as a plugin's `ctx.use`), for the server's own callers and tests. */
  use<T>(key: ServiceKey<T>): T;
}

interface Collected {
  clientCAs: (() => string | undefined)[];
  authChallenges: string[];
  serializers: Serializer[];
  requestObservers: RequestObserver[];
  fieldManager?: { plugin: string; value: FieldManager };
  resourceCache?: { plugin: string; value: ResourceCacheProvider };
  patchTypes: Map<string, { plugin: string; value: PatchTypeProvider }>;
  servingIdentity?: { plugin: string; value: IdentityProvider };
  points: Map<string, string[]>;
}

type IdentityProvider = (request: ServingIdentityRequest) => ServingIdentity | Promise<ServingIdentity>;

function record(collected: Collected, plugin: string, point: string): void {
  const list = collected.points.get(plugin) ?? [];
  if (!list.includes(point)) list.push(point);
  collected.points.set(plugin, list);
}

/** Wraps every contribution point so that using it is recorded for `skiff config check`. */
function recorded(name: string, collected: Collected, points: Contributions): Contributions {
  const wrapped = {} as Record<string, unknown>;
  for (const [point, fn] of Object.entries(points) as [string, (...args: unknown[]) => void][]) {
    wrapped[point] = (...args: unknown[]) => {
      record(collected, name, point);
      return fn(...args);
    };
  }
  return wrapped as unknown as Contributions;
}

function offerBackend(deps: HostDeps, name: string, backend: string, open: () => Promise<Storage>): void {
  if (deps.backends.has(backend)) {
    throw new SkiffError(
      'SKIFF_STORAGE_BACKEND',
      `plugin "${name}" offers storage backend "${backend}", which another plugin already offers`,
      'enable only one plugin per backend',
    );
  }
  deps.backends.set(backend, open);
}

function offerService(deps: HostDeps, name: string, key: ServiceKey<unknown>, value: unknown): void {
  if (deps.container.hasRegistration(key.id)) {
    throw new SkiffError(
      'SKIFF_PLUGIN_SERVICE_DUPLICATE',
      `plugin "${name}" provides ${key.id}, which another plugin already provides`,
      `enable only one plugin that provides ${key.id} (${key.what})`,
    );
  }
  deps.container.register({ [key.id]: asValue(value) });
}

function offerSerializer(collected: Collected, name: string, serializer: Serializer): void {
  if (collected.serializers.some((s) => s.mediaType === serializer.mediaType)) {
    throw new SkiffError(
      'SKIFF_PLUGIN_SERIALIZER_DUPLICATE',
      `plugin "${name}" offers a serializer for ${serializer.mediaType}, which another plugin already offers`,
      'enable only one plugin per media type',
    );
  }
  collected.serializers.push(serializer);
}

function offerFieldManager(collected: Collected, name: string, fieldManager: FieldManager): void {
  if (collected.fieldManager) {
    throw new SkiffError(
      'SKIFF_PLUGIN_FIELD_MANAGER_DUPLICATE',
      `plugin "${name}" offers a field manager, but plugin "${collected.fieldManager.plugin}" already offers one`,
      'enable only one plugin that provides server-side apply',
    );
  }
  collected.fieldManager = { plugin: name, value: fieldManager };
}

function offerResourceCache(collected: Collected, name: string, provider: ResourceCacheProvider): void {
  if (collected.resourceCache) {
    throw new SkiffError(
      'SKIFF_PLUGIN_RESOURCE_CACHE_DUPLICATE',
      `plugin "${name}" offers watch caches, but plugin "${collected.resourceCache.plugin}" already offers them`,
      'enable only one plugin that provides watch caches',
    );
  }
  collected.resourceCache = { plugin: name, value: provider };
}

function offerPatchType(collected: Collected, name: string, provider: PatchTypeProvider): void {
  const refusal = patchTypeRefusal(provider);
  if (refusal) {
    throw new SkiffError(
      'SKIFF_PLUGIN_PATCH_TYPE',
      `plugin "${name}" offers a patch type core cannot serve: ${refusal}`,
      `fix the plugin's ctx.provide.patchType, or disable ${name}`,
    );
  }
  const earlier = collected.patchTypes.get(provider.type);
  if (earlier) {
    throw new SkiffError(
      'SKIFF_PLUGIN_PATCH_TYPE_DUPLICATE',
      `plugin "${name}" offers ${provider.mediaType}, but plugin "${earlier.plugin}" already offers it`,
      'enable only one plugin per patch type',
    );
  }
  collected.patchTypes.set(provider.type, { plugin: name, value: provider });
}

function offerServingIdentity(collected: Collected, name: string, provider: IdentityProvider): void {
  if (collected.servingIdentity) {
    throw new SkiffError(
      'SKIFF_PLUGIN_SERVING_IDENTITY_DUPLICATE',
      `plugin "${name}" offers a serving identity, but plugin "${collected.servingIdentity.plugin}" already offers one`,
      'enable only one plugin that generates the serving certificate',
    );
  }
  collected.servingIdentity = { plugin: name, value: provider };
}

/** What a generated serving certificate must name, from the enabled plugins' manifests. */
function servingIdentityRequest(config: ResolvedConfig): ServingIdentityRequest {
  for (const p of config.plugins) {
    const ip = p.manifest.kubernetesServiceIP?.(p.config);
    if (ip) return { kubernetesServiceIP: ip };
  }
  return {};
}

function contributions(name: string, policy: AdmissionPolicy, deps: HostDeps, collected: Collected): Contributions {
  const { hooks } = deps;
  const log = deps.logger.child({ plugin: name });
  return {
    resource: (def) => deps.registry.add(def, name),
    subresource: (target, subName, def) => deps.registry.addSubresource(target, subName, def, name),
    storageBackend: (backend, open) => offerBackend(deps, name, backend, open),
    admission: (plugin) => {
      const admit = guardAdmission(plugin, 'admit', policy, log);
      const validate = guardAdmission(plugin, 'validate', policy, log);
      // Plain taps: a guarded step answers synchronously when its plugin does (see admission-guard.ts).
      if (admit) hooks.admitMutating.tap(plugin.name, admit);
      if (validate) hooks.admitValidating.tap(plugin.name, validate);
    },
    authenticator: (fn) => hooks.authenticate.tapPromise(name, async (req) => fn(req)),
    authorizer: (fn, rules) => {
      hooks.authorize.tapPromise(name, async (a) => fn(a));
      deps.ruleResolvers.set(name, rules);
    },
    controller: (registration) => hooks.registerControllers.tap(name, (registry) => registry.register(registration)),
    healthCheck: (check, kinds, fn) => deps.healthChecks.push({ name: check, kinds, check: fn }),
    bootstrap: (task, run) => deps.bootstraps.push({ plugin: name, name: task, run }),
    routes: (register) => hooks.routes.tap(name, register),
    serializer: (serializer) => offerSerializer(collected, name, serializer),
    clientCA: (source) => collected.clientCAs.push(source),
    servingIdentity: (provider) => offerServingIdentity(collected, name, provider),
    authChallenge: (header) => collected.authChallenges.push(header),
    auditSink: (sink) => hooks.audit.tap(name, sink),
    requestObserver: (observe) => collected.requestObservers.push(observe),
    fieldManager: (fieldManager) => offerFieldManager(collected, name, fieldManager),
    resourceCache: (provider) => offerResourceCache(collected, name, provider),
    patchType: (provider) => offerPatchType(collected, name, provider),
    service: (key, value) => offerService(deps, name, key, value),
  };
}

function useService<T>(deps: HostDeps, user: string, key: ServiceKey<T>): T {
  if (deps.container.hasRegistration(key.id)) return deps.container.resolve<T>(key.id);
  const later = deps.config.plugins.find((p) => declaresProvider(p.manifest, key))?.name;
  if (later) {
    throw new SkiffError(
      'SKIFF_PLUGIN_MISSING_PROVIDER',
      `plugin "${user}" needs ${key.id}, which ${later} provides, but ${later} is set up after it`,
      `list ${later} before ${user} under plugins in the config file (or in the dependencies of ${user}), so it is set up first`,
    );
  }
  throw new MissingProviderError(
    'SKIFF_PLUGIN_MISSING_PROVIDER',
    `plugin "${user}" needs ${key.id}, which no enabled plugin provides`,
    key,
    (provider) => `enable ${provider} or disable ${user}`,
  );
}

function contextFor(
  plugin: ResolvedConfig['plugins'][number],
  deps: HostDeps,
  collected: Collected,
  onClose: (release: () => void | Promise<void>) => void,
): PluginContext<unknown> {
  const { name } = plugin;
  const note = (point: string) => record(collected, name, point);
  return {
    name,
    config: plugin.config,
    logger: deps.logger.child({ plugin: name }),
    server: deps.settings,
    provide: recorded(name, collected, contributions(name, plugin, deps, collected)),
    use: (key) => {
      note(`use(${key.id})`);
      return useService(deps, name, key);
    },
    api: createPluginApi(deps),
    onReady: (run) => {
      note('onReady');
      deps.hooks.ready.tapPromise(name, async () => run());
    },
    onShutdown: (run) => {
      note('onShutdown');
      deps.hooks.shutdown.tapPromise(name, async () => run());
    },
    onClose,
  };
}

export async function setupPlugins(setup: SetupDeps): Promise<PluginHost> {
  const deps: HostDeps = { ...setup, container: createContainer({ strict: true }) };
  const done: { name: string; close?: () => void | Promise<void> }[] = [];
  const collected: Collected = {
    clientCAs: [],
    authChallenges: [],
    serializers: [],
    patchTypes: new Map(),
    requestObservers: [],
    points: new Map(),
  };
  const host: PluginHost = {
    clientCA() {
      const bundles = collected.clientCAs.map((source) => source()).filter((pem): pem is string => Boolean(pem));
      return bundles.length ? bundles.join('\n') : undefined;
    },
    authChallenges: collected.authChallenges,
    serializers: collected.serializers,
    requestObservers: collected.requestObservers,
    fieldManager: () => collected.fieldManager?.value,
    patchTypes: () => [...collected.patchTypes.values()].map((p) => p.value),
    resourceCache: () => collected.resourceCache?.value,
    servingIdentity() {
      const offered = collected.servingIdentity?.value;
      return offered && (async () => offered(servingIdentityRequest(deps.config)));
    },
    points: collected.points,
    use: (key) => useService(deps, 'the server', key),
    async closeAll() {
      for (const p of done.reverse()) {
        try {
          await p.close?.();
        } catch (err) {
          deps.logger.error({ err, plugin: p.name }, 'plugin failed to close');
        }
      }
      done.length = 0;
    },
  };
  for (const plugin of deps.config.plugins) {
    collected.points.set(plugin.name, []);
    const ctx = contextFor(plugin, deps, collected, (release) => done.push({ name: plugin.name, close: release }));
    try {
      await plugin.manifest.setup(ctx);
    } catch (err) {
      await host.closeAll();
      if (err instanceof SkiffError) throw err;
      throw new SkiffError(
        'SKIFF_PLUGIN_SETUP',
        `plugin "${plugin.name}" (${plugin.source}) failed during setup: ${(err as Error).message}`,
        `check the plugins.${plugin.name} section of ${deps.config.file}, or disable the plugin with enabled: false`,
      );
    }
    done.push({ name: plugin.name, close: plugin.manifest.close?.bind(plugin.manifest) });
  }
  return host;
}
