/**
 * The plugin contract. A plugin is a frozen manifest: its name (== folder name == config key), the
 * plugins it needs, a zod schema for its config, what it declares for the command line, and
 * `setup`, which receives everything it may touch: named, typed contribution points (`provide`),
 * typed services of other plugins (`use`), a facade over the API (`api`) and lifecycle callbacks.
 * Plugins reach it through the SDK (`skiff/sdk`), never through this file.
 */
import type Router from '@koa/router';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import type { FieldManager } from '../api/field-manager.js';
import type { PatchTypeProvider } from '../api/patch.js';
import type { RequestInfo } from '../api/request-info.js';
import type { ResourceCacheProvider } from '../api/resource-cache.js';
import type { ResourceDefinition, SubresourceDefinition } from '../api/types.js';
import type {
  AdmissionPlugin,
  AuditRecord,
  AuditStage,
  AuthenticationRequest,
  AuthenticationResult,
  AuthorizationAttributes,
  AuthorizationDecision,
  RuleResolver,
} from '../auth-types.js';
import type { ApiClient } from '../client/types.js';
import type { ControllerRegistration } from '../hooks.js';
import type { Storage } from '../storage/types.js';
import type { Serializer } from '../wire/serializer.js';
import type { CommandSpec, FlagSpec, Role } from './flags.js';
import type { PluginApi } from './plugin-api.js';
import type { ServiceKey } from './services.js';

/** The HTTPS listener's certificate and private key (PEM). */
export interface ServingIdentity {
  cert: string;
  key: string;
  /** Where they came from, for the start-up log. */
  source: string;
}

/** What a generated serving certificate must name besides loopback and the API's in-cluster names. */
export interface ServingIdentityRequest {
  /** The kubernetes service's ClusterIP, from the plugin that serves services (its manifest's kubernetesServiceIP). */
  kubernetesServiceIP?: string;
}

/** Settings every plugin may read: where data lives and how the server was started. */
export interface ServerSettings {
  /** Absolute path of the data directory. */
  dataDir: string;
  /** The config file's path, or '(built-in defaults)'. */
  configFile: string;
  /** The role being run: up, apiserver, controller-manager, ... */
  role: string;
  /** The address clients use to reach the API server (for the kubernetes service's endpoints). */
  advertiseAddress: string;
  /** The port of that address. */
  advertisePort: number;
  /**
   * Where the HTTPS port's certificate comes from: a `servingIdentity` provider ('provided'),
   * --tls-cert-file ('file'), or nowhere, as there is no HTTPS port ('none').
   */
  servingCertificate: 'provided' | 'file' | 'none';
}

export type HealthCheckKind = 'livez' | 'readyz';

/** An HTTP request the server has answered, whatever the outcome, as a `requestObserver` sees it. */
export interface CompletedRequest {
  /** What it asked for; undefined when it was refused before that was known (authentication failed). */
  readonly info: RequestInfo | undefined;
  /** It carried `?dryRun`. */
  readonly dryRun: boolean;
  /** The HTTP status answered. */
  readonly code: number;
  /** From its arrival to its answer (a watch: until it ended). */
  readonly seconds: number;
  /** The server refused it in self-defense: 429 from the in-flight limit or the request-body budget. */
  readonly terminated: boolean;
}

export type RequestObserver = (request: CompletedRequest) => void;

/** Every named point a plugin contributes through; `skiff config check` lists the ones each plugin used. */
export interface Contributions {
  /** Serve a kind through the generic REST machinery. */
  resource(def: ResourceDefinition): void;
  /**
   * Add a subresource to a resource another plugin serves (list that plugin in `dependencies`),
   * e.g. authn-service-account's serviceaccounts/token.
   */
  subresource(
    target: { group: string; version: string; plural: string },
    name: string,
    def: SubresourceDefinition,
  ): void;
  /**
   * Offer a storage backend; `server.storageBackend` / `--storage-backend` picks one. The server
   * opens only the chosen one, and closes it itself on shutdown (after every plugin has closed).
   */
  storageBackend(name: string, open: () => Promise<Storage>): void;
  admission(plugin: AdmissionPlugin): void;
  authenticator(
    authenticate: (request: AuthenticationRequest) => AuthenticationResult | Promise<AuthenticationResult>,
  ): void;
  authorizer(
    authorize: (
      attributes: AuthorizationAttributes,
    ) => AuthorizationDecision | undefined | Promise<AuthorizationDecision | undefined>,
    /** Lists what a user may do, for SelfSubjectRulesReview; without it the review says "incomplete". */
    rules?: RuleResolver,
  ): void;
  controller(registration: ControllerRegistration): void;
  /** A named check under /livez and/or /readyz; throw (or reject) to fail it. */
  healthCheck(name: string, kinds: HealthCheckKind[], check: () => void | Promise<void>): void;
  /**
   * Work to do once storage is open and before the server listens, as the system:apiserver
   * identity (e.g. creating the default namespaces). Runs in plugin order.
   */
  bootstrap(name: string, run: (client: ApiClient) => Promise<void>): void;
  /** Non-resource HTTP routes (documents, plugin endpoints), added once while the app is built. */
  routes(register: (router: Router) => void): void;
  /**
   * A media type request bodies may come in and responses and watches may go out in, beside JSON
   * and YAML (wire-protobuf's protobuf); one plugin per media type. See skiff/sdk/wire Serializer.
   */
  serializer(serializer: Serializer): void;
  /**
   * PEM bundle(s) of CAs the HTTPS listener names when it asks for a client certificate, read when
   * the listener starts (authn-x509's client CA file). Undefined: nothing to add.
   */
  clientCA(source: () => string | undefined): void;
  /**
   * The HTTPS listener's certificate and key when --tls-cert-file and --tls-private-key-file are
   * not given (pki-local's, generated under the data directory); one per server. Called when the
   * secure port starts, not before: a server without one fails then with SKIFF_TLS_NO_IDENTITY.
   */
  servingIdentity(provider: (request: ServingIdentityRequest) => ServingIdentity | Promise<ServingIdentity>): void;
  /** A WWW-Authenticate value every 401 carries: `Basic realm="kubernetes-master"`. */
  authChallenge(header: string): void;
  /**
   * Called synchronously as every HTTP request ends (request metrics). It runs on the hot path: keep
   * it to counting; what it throws is logged, never the request's failure.
   */
  requestObserver(observe: RequestObserver): void;
  /** Receives every audited request at each stage (only called for plugins that contribute one). */
  auditSink(sink: (record: AuditRecord, stage: AuditStage) => void): void;
  /**
   * Server-side apply (PATCH application/apply-patch+yaml) and managedFields on every write; one
   * per server. Without one, apply patches get a 415 and no write records its manager.
   */
  fieldManager(fieldManager: FieldManager): void;
  /**
   * A PATCH format other than apply: `{ type: 'merge', mediaType: 'application/merge-patch+json',
   * apply }`; one plugin per type. A PATCH of a type no plugin serves gets a 415 listing those served.
   */
  patchType(provider: PatchTypeProvider): void;
  /**
   * The watch caches (api-watch-cache's): asked once per served resource as the API starts, it
   * gives the resource's cache, or undefined to serve it from storage; one plugin per server.
   * Without one, every read and watch goes to storage. See skiff/sdk/cache.
   */
  resourceCache(provider: ResourceCacheProvider): void;
  /** A typed service other plugins `use(key)`; one provider per key. */
  service<T>(key: ServiceKey<T>, value: T): void;
}

export interface PluginContext<Config> {
  name: string;
  config: Config;
  logger: Logger;
  server: ServerSettings;
  provide: Contributions;
  /**
   * A service another plugin provides. Throws SKIFF_PLUGIN_MISSING_PROVIDER when no enabled plugin
   * provided it (list the provider in `dependencies` so it is set up first).
   */
  use<T>(key: ServiceKey<T>): T;
  /** The API this server serves; its storage-backed parts work once storage is open. */
  api: PluginApi;
  /** After the server listens (the port is known). Runs in plugin order. */
  onReady(run: () => void | Promise<void>): void;
  /** When shutdown begins, after the listeners stopped accepting and before plugins close. */
  onShutdown(run: () => void | Promise<void>): void;
  /**
   * Release something this setup acquired when this server closes (everything closes in reverse
   * order of registration). Prefer it to module-level state: one process may run several servers.
   */
  onClose(release: () => void | Promise<void>): void;
}

export interface PluginManifest<Config = Record<string, never>> {
  /** Equal to the folder name and the config key: "storage-sqlite". */
  readonly name: string;
  readonly description: string;
  readonly dependencies?: readonly string[];
  /** Validates and defaults this plugin's config block. Absent: the block must be empty. */
  readonly config?: ZodType<Config>;
  /** Upstream flags that configure this plugin (`skiff up --help` lists them). */
  readonly flags?: readonly FlagSpec[];
  /**
   * The services it offers with ctx.provide.service: how a start-up error names the plugin to
   * enable for a missing one, and how a component (`skiff scheduler`) finds the providers it needs.
   */
  readonly provides?: readonly ServiceKey<unknown>[];
  /** CLI subcommands this plugin adds: `skiff abac check`. */
  readonly commands?: readonly CommandSpec[];
  /**
   * The commands it serves: its flags apply there when a flag names none (default: up and
   * apiserver), and `skiff controller-manager` sets it up when this names controller-manager.
   */
  readonly roles?: readonly Role[];
  /** Its --authorization-mode name: 'ABAC', 'AlwaysAllow', ... */
  readonly authorizationMode?: string;
  /** Its upstream admission plugin name, for --enable-admission-plugins: 'NamespaceLifecycle', ... */
  readonly admissionName?: string;
  /**
   * Where upstream's recommended order puts it (lower runs first): plugins turned on by
   * --enable-admission-plugins run in this order, whatever the flag's order; plugins without one
   * run last.
   */
  readonly admissionOrder?: number;
  /** The kubernetes service's ClusterIP this config gives, which the generated serving certificate must name. */
  readonly kubernetesServiceIP?: (config: Config) => string | undefined;
  setup(ctx: PluginContext<Config>): void | Promise<void>;
  /** Release what setup acquired. Called in reverse load order on shutdown. */
  close?(): void | Promise<void>;
}

/** Freeze a manifest (and type-check it). Every plugin's index.ts default-exports one. */
export function definePlugin<Config = Record<string, never>>(
  manifest: PluginManifest<Config>,
): Readonly<PluginManifest<Config>> {
  return Object.freeze({ ...manifest });
}
