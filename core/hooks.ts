/**
 * The hook points, declared once. Plugins tap them by name (every tap is named after its plugin);
 * the core owns each chain's semantics and order in core/chains.ts: tapable is the registry, not the
 * runner, so a throwing authenticator cannot end the authentication union and no chain depends on
 * tapable's `before`/`stage` ordering. Order is plugin load order, which is config order.
 */
import type Router from '@koa/router';
import type { Logger } from 'pino';
import { AsyncSeriesBailHook, AsyncSeriesHook, SyncHook } from 'tapable';
import type {
  AdmissionAttributes,
  AuditRecord,
  AuditStage,
  AuthenticationRequest,
  AuthenticationResult,
  AuthorizationAttributes,
  AuthorizationDecision,
} from './auth-types.js';
import type { ServedResource } from './client/served-resources.js';
import type { ApiClient, ResourceRef } from './client/types.js';

/** A controller run by the controller manager. `run` resolves when `signal` aborts. */
export interface Controller {
  run(signal: AbortSignal): Promise<void>;
}

/** What a controller gets: a client acting as the controller manager, and a logger. */
export interface ControllerContext {
  client: ApiClient;
  logger: Logger;
  /** Every namespaced resource that can be listed and deleted (the namespace controller empties them). */
  namespacedResources(): Promise<ResourceRef[]>;
  /**
   * Every served resource with its kind, scope and verbs (the garbage collector watches every kind
   * that can have owners and finds owners by kind). Optional: contexts built elsewhere may lack it.
   */
  servedResources?(): Promise<ServedResource[]>;
  /**
   * The cluster CA that pods are given (upstream's --root-ca-file, else the CA the controller
   * manager trusts the API server by). Unset in the API server's process: plugins read the PKI.
   */
  rootCA?: string;
}

export interface ControllerRegistration {
  name: string;
  /** Other names `--controllers` accepts for it: upstream's current names that dashes alone do not map to `name`. */
  aliases?: string[];
  create(ctx: ControllerContext): Controller | Promise<Controller>;
}

export interface ControllerRegistry {
  register(registration: ControllerRegistration): void;
}

export function createHooks() {
  return Object.freeze({
    /** Try each authenticator in order; first user wins; refusals are collected for the log. */
    authenticate: new AsyncSeriesBailHook<[AuthenticationRequest], AuthenticationResult>(['request']),
    /** Three-valued: first allow or deny wins; no opinion from all = deny (403). */
    authorize: new AsyncSeriesBailHook<[AuthorizationAttributes], AuthorizationDecision | undefined>(['attributes']),
    /** Every mutating admission plugin, in order; the first error rejects. */
    admitMutating: new AsyncSeriesHook<[AdmissionAttributes]>(['attributes']),
    /** Then every validating admission plugin, in order; the first error rejects. */
    admitValidating: new AsyncSeriesHook<[AdmissionAttributes]>(['attributes']),
    /** Controllers register here; the controller manager runs the enabled ones. */
    registerControllers: new AsyncSeriesHook<[ControllerRegistry]>(['registry']),
    /** Plugins that serve HTTP add routes (proxy, kubelet API). Runs once while the app is built. */
    routes: new SyncHook<[Router]>(['router']),
    /** Each request at each audit stage (only built when something taps it, so it costs nothing otherwise). */
    audit: new SyncHook<[AuditRecord, AuditStage]>(['record', 'stage']),
    /** After the server listens. */
    ready: new AsyncSeriesHook<[]>(),
    /** Before plugins close, in order; listeners have stopped accepting. */
    shutdown: new AsyncSeriesHook<[]>(),
  });
}

export type Hooks = ReturnType<typeof createHooks>;
