/**
 * The plugin SDK: the whole extension API. Most plugins need only this module:
 *
 *   import { definePlugin, forbidden, type AdmissionPlugin } from 'skiff/sdk';
 *
 * Narrower needs have their own subpaths: skiff/sdk/api (resource definitions and validation),
 * skiff/sdk/storage (storage backends), skiff/sdk/auth (authenticators, authorizers, audit, the
 * PKI service), skiff/sdk/client (clients, informers, leader election), skiff/sdk/quota (quota
 * evaluation), skiff/sdk/wire (serializers) and skiff/sdk/cli (flags and commands).
 *
 * Inside this repository `skiff/sdk` resolves through tsconfig.json's `paths` (the `skiff` launcher
 * names that tsconfig, so it works from any directory); installed as a package, through the
 * `exports` map of package.json. Plugins must not import other core files: what skiff/sdk and its
 * subpaths do not export may change without notice. test/core/boundaries.test.ts keeps the
 * built-in plugins to that rule.
 */
import type { KubeObject, ObjectStore } from '../api/types.js';
import type { AdmissionAttributes } from '../auth-types.js';
import { errors, type StatusError } from '../errors.js';
import type { PluginContext } from '../plugins/contract.js';
import type { CachedObjects } from '../plugins/plugin-api.js';

// The zod the host validates config with: a plugin outside this repository needs no copy of its own.
export { z } from 'zod';
export type { FieldManager } from '../api/field-manager.js';
export { generateNameSuffix } from '../api/meta.js';
export { type PatchTypeProvider, patchRejected } from '../api/patch.js';
export {
  canonicalQuantity,
  formatQuantity,
  parseQuantity,
  parseQuantityWithFormat,
  type Quantity,
  type QuantityFormat,
} from '../api/quantity.js';
export type { RequestInfo } from '../api/request-info.js';
export type { KubeObject, ObjectMeta, ObjectStore, ResourceDefinition } from '../api/types.js';
export type {
  AdmissionAttributes,
  AdmissionOperation,
  AdmissionPlugin,
  AuthorizationAttributes,
  AuthorizationDecision,
  UserInfo,
} from '../auth-types.js';
export { type ChangeType, delay, Informer, objectKey, WorkQueue } from '../client/informer.js';
export type { ApiClient, KubeList, ResourceRef, WatchEvent } from '../client/types.js';
export { CORE_V1 } from '../client/types.js';
export { errors, type FieldError, isStatusError, SkiffError, type StatusError } from '../errors.js';
export type { Controller, ControllerContext, ControllerRegistration } from '../hooks.js';
export type {
  CompletedRequest,
  Contributions,
  HealthCheckKind,
  PluginContext,
  PluginManifest,
  RequestObserver,
  ServerSettings,
  ServingIdentity,
  ServingIdentityRequest,
} from '../plugins/contract.js';
export { definePlugin } from '../plugins/contract.js';
export type { CommandSpec, FlagSpec, Role } from '../plugins/flags.js';
export type { CachedObjects, InflightWatermark, PluginApi, ResourceCatalog } from '../plugins/plugin-api.js';
export { MissingProviderError, type ServiceKey, serviceKey } from '../plugins/services.js';

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

/** The plugin's watch-cache reads: `ctx.api.cached` (kept for plugins written before ctx.api). */
export function cachedObjects(ctx: Pick<PluginContext<unknown>, 'api'>): CachedObjects {
  return ctx.api.cached;
}

/**
 * The store of a resource, for plugins that must write around the request pipeline (e.g. charging
 * a quota's status): `ctx.api.store(...)`. Writes still run the kind's strategy and admission. Call
 * it once storage is open.
 */
export function storeOf(
  ctx: Pick<PluginContext<unknown>, 'api'>,
  group: string,
  version: string,
  plural: string,
): ObjectStore {
  return ctx.api.store(group, version, plural);
}
