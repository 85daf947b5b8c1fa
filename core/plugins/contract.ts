/**
 * The plugin contract. A plugin is a frozen manifest: its name (== folder name == config key), the
 * plugins it needs, a zod schema for its config, and `setup`, which receives everything it may touch.
 * Nothing else in the core is reachable from a plugin, so this file is the whole extension API.
 */
import type { AwilixContainer } from 'awilix';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import type { ResourceDefinition, SubresourceDefinition } from '../api/types.js';
import type {
  AdmissionPlugin,
  AuthenticationRequest,
  AuthenticationResult,
  AuthorizationAttributes,
  AuthorizationDecision,
  RuleResolver,
} from '../auth-types.js';
import type { ApiClient } from '../client/types.js';
import type { ControllerRegistration, Hooks } from '../hooks.js';
import type { Storage } from '../storage/types.js';

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
}

export type HealthCheckKind = 'livez' | 'readyz';

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
}

export interface PluginContext<Config> {
  name: string;
  config: Config;
  logger: Logger;
  /** This server's container (one per server, never global). Register services for other plugins. */
  container: AwilixContainer;
  hooks: Hooks;
  server: ServerSettings;
  provide: Contributions;
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
