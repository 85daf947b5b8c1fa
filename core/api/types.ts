/**
 * The generic API machinery's vocabulary: objects, resource definitions and their strategies.
 * Kinds are not hard-coded in the core: plugins (plugins/api-core-v1, ...) contribute them.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FieldError } from '../errors.js';
import type { UserInfo } from '../user-info.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  [key: string]: unknown;
}

/** Any Kubernetes object. `spec`/`status` and the rest are kind-specific. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export type Verb = 'create' | 'get' | 'list' | 'watch' | 'update' | 'patch' | 'delete' | 'deletecollection';

export const ALL_VERBS: readonly Verb[] = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

/** What a strategy hook knows about the request it serves. */
export interface StrategyContext {
  /** The namespace from the URL ('' for cluster-scoped). */
  namespace: string;
  dryRun: boolean;
  /** '' for the main resource; the subresource written through otherwise ('status', 'binding', 'scale'). */
  subresource: string;
}

/**
 * Per-kind behaviour, after upstream's rest.RESTCreateStrategy / RESTUpdateStrategy.
 * Every hook is optional; the generic store does the metadata work itself.
 */
export interface Strategy {
  /**
   * Upstream's defaulting (SetDefaults_*), which upstream applies as it decodes a request body: run on
   * every create and every write of the main resource before the writer's fields are recorded in
   * managedFields, so the writer owns the defaults (f:imagePullPolicy under kubectl-run, as upstream).
   * Must be idempotent and tolerate any shape (the body is not yet validated). Mutates `obj`.
   */
  defaults?(obj: KubeObject, ctx: StrategyContext): void | Promise<void>;
  /** Clearing and setting on create (e.g. reset status, allocate a ClusterIP). Mutates `obj`. */
  prepareForCreate?(obj: KubeObject, ctx: StrategyContext): void | Promise<void>;
  /** On update of the main resource (e.g. keep the old status). Mutates `obj`. */
  prepareForUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): void | Promise<void>;
  validate?(obj: KubeObject, ctx: StrategyContext): FieldError[];
  validateUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): FieldError[];
  /**
   * Graceful deletion beyond metadata.finalizers: return true when the object must stay, marked
   * with a deletionTimestamp, until something finishes the job (a namespace with spec.finalizers,
   * a pod on a node). May mutate `obj` (e.g. phase Terminating). Asked again on every update of a
   * deleting object, so the object goes once this answers false and no finalizer is left.
   * On a DELETE it also gets the request's grace period, and may set
   * `obj.metadata.deletionGracePeriodSeconds` (a pod: upstream's CheckGracefulDelete); the object is
   * then marked to go that many seconds from now, and a later DELETE with a shorter grace moves it up.
   */
  holdOnDelete?(obj: KubeObject, options?: { gracePeriodSeconds?: number }): boolean;
  /** Called after a successful delete (not on dry run), e.g. to release an allocated ClusterIP. */
  afterDelete?(obj: KubeObject, ctx: StrategyContext): void | Promise<void>;
  /**
   * Upstream's WarningsOnCreate / WarningsOnUpdate: texts the client shows as "Warning: ..." (a
   * deprecated field, a value that will surprise). Asked after validation passed; they never refuse.
   */
  warningsOnCreate?(obj: KubeObject, ctx: StrategyContext): string[];
  warningsOnUpdate?(obj: KubeObject, old: KubeObject, ctx: StrategyContext): string[];
  /** Upstream's Canonicalize: normalises the object after validation and mutating admission. */
  canonicalize?(obj: KubeObject): void;
  /**
   * Whether this kind has a spec whose changes bump metadata.generation. Defaults to true when the
   * object has a `spec`; kinds without one (ConfigMap, Secret) never bump it after 1.
   */
  tracksGeneration?: boolean;
  /**
   * Upstream's DefaultGarbageCollectionPolicy: what a DELETE without a propagationPolicy does to the
   * object's dependents (core/api/store/cascade.ts). Default: DeleteDependents (in the background);
   * OrphanDependents for kinds that kept v1's behaviour (core/v1 ReplicationControllers);
   * Unsupported for kinds that never hold dependents back.
   */
  defaultGarbageCollectionPolicy?: 'OrphanDependents' | 'DeleteDependents' | 'Unsupported';
}

/**
 * Strategic-merge-patch metadata for one kind: for a list at a field path, how lists merge.
 * Paths use dots with `[]` for list elements: "spec.containers", "spec.containers[].ports".
 */
export interface PatchMeta {
  [path: string]: MergeRule | { strategy: 'replace' };
}

/**
 * A list merged item by item. A strategic merge patch matches items by `mergeKey` (upstream's
 * patchMergeKey). Server-side apply matches them by `listMapKeys` (x-kubernetes-list-map-keys)
 * where upstream's schema names more than the merge key, such as a container port's
 * containerPort and protocol; a key field an item leaves out takes its `keyDefaults` value
 * (the schema default, protocol "TCP").
 */
export interface MergeRule {
  strategy: 'merge';
  mergeKey: string;
  listMapKeys?: readonly string[];
  keyDefaults?: Readonly<Record<string, string>>;
}

/** A column of a Table response (used from the wire-compatibility issue on). */
export interface TableColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
}

/** How `kubectl get` shows a kind: upstream's printer columns and a row per object. */
export interface TableDefinition {
  columns: TableColumn[];
  /** One cell per column, in order. `now` makes ages deterministic within one response. */
  row(obj: KubeObject, now: Date): unknown[];
}

/** A subresource served by a plugin: /<resource>/<name>/<subresource>. */
export interface SubresourceDefinition {
  /** The kind returned/accepted (e.g. Scale in autoscaling/v1). Defaults to the parent kind. */
  kind?: { group: string; version: string; kind: string };
  verbs: Verb[];
  /** Handles get/update/patch/create on the subresource. The store gives access to the parent objects. */
  handler: SubresourceHandler;
  /**
   * Upstream's Connecter (proxy, log, exec, attach, portforward): once the request is authorized,
   * it gets the raw request and answers it itself, streaming, or takes the connection over when it
   * is an HTTP upgrade. For `proxy` it also serves the deprecated /api/v1/proxy/… form (verb proxy).
   */
  connect?: (request: ConnectRequest) => Promise<void>;
}

/** An authorized request handed to a subresource's `connect` (see SubresourceDefinition). */
export interface ConnectRequest {
  namespace: string;
  name: string;
  /** The verb authorized: get, create, … or proxy for the deprecated /api/v1/proxy/… form. */
  verb: string;
  /** The request's path, still percent-encoded as the client sent it. */
  rawPath: string;
  query: URLSearchParams;
  user: UserInfo;
  req: IncomingMessage;
  /**
   * Where to answer. Throwing a StatusError before anything is written answers with that Status;
   * after headers were sent, the connection is cut.
   */
  res: ServerResponse;
  /** Set when the request asks for an HTTP upgrade: the client's connection and the bytes read past the headers. */
  upgrade?: { socket: Duplex; head: Buffer };
  /** Adds a Warning header to the answer (before it is sent). */
  warn(text: string): void;
}

export interface SubresourceRequest {
  namespace: string;
  name: string;
  dryRun: boolean;
  body?: KubeObject;
  query: URLSearchParams;
  /** The parent resource's objects (e.g. the pod, for pods/binding). */
  store: ObjectStore;
}

/**
 * Direct access to one resource's stored objects for subresource handlers and plugins.
 * `guaranteedUpdate` re-reads and retries on conflict, like upstream's GuaranteedUpdate: `mutate`
 * gets a private copy of the current object and returns the new one (or throws a StatusError).
 * It runs the kind's validateUpdate and keeps metadata (resourceVersion, generation) right.
 */
export interface ObjectStore {
  readonly definition: ResourceDefinition;
  get(namespace: string, name: string): Promise<KubeObject>;
  guaranteedUpdate(
    namespace: string,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    options?: { dryRun?: boolean; expectedResourceVersion?: string; subresource?: string; user?: UserInfo },
  ): Promise<KubeObject>;
}

export interface SubresourceHandler {
  get?(req: SubresourceRequest): Promise<KubeObject>;
  /** PUT (and PATCH, after the patch is applied to what `get` returns). */
  update?(req: SubresourceRequest & { body: KubeObject }): Promise<KubeObject>;
  /** POST, e.g. pods/binding. */
  create?(req: SubresourceRequest & { body: KubeObject }): Promise<KubeObject>;
}

export interface ResourceDefinition {
  group: string;
  version: string;
  kind: string;
  /** The URL segment: "pods". */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Storage key prefix, default `/registry/<plural>/`. */
  storagePrefix?: string;
  /** Defaults to ALL_VERBS. Virtual kinds (bindings) list only 'create'. */
  verbs?: readonly Verb[];
  strategy?: Strategy;
  /** Field selectors beyond metadata.name and metadata.namespace (e.g. spec.nodeName for pods). */
  fieldSelectors?: Record<string, (obj: KubeObject) => string | undefined>;
  patchMeta?: PatchMeta;
  /** Columns for Table responses (`kubectl get`); without it, upstream's default NAME / CREATED AT. */
  table?: TableDefinition;
  /** How metadata.name is validated: DNS-1123 subdomain (default), DNS-1123 label, or only as a path segment. */
  nameRule?: 'subdomain' | 'label' | 'path-segment';
  /** DELETE answers with the deleted object (upstream: pods, services) instead of a Success Status. */
  returnDeletedObject?: boolean;
  /** PUT on a missing object creates it (upstream: endpoints, events, leases). */
  allowCreateOnUpdate?: boolean;
  /** Subresources other than the generic "status" (which `hasStatus` turns on). */
  subresources?: Record<string, SubresourceDefinition>;
  /** Serve /status with the generic status strategy (update only .status). */
  hasStatus?: boolean;
  /**
   * This group/version of the kind is deprecated (upstream's APILifecycle markers): once the
   * server's version reaches `since`, every request to it carries upstream's Warning,
   * "<group>/<version> <Kind> is deprecated in v1.X+, unavailable in v1.Y+; use <replacement>".
   */
  deprecated?: ApiDeprecation;
  /**
   * Virtual: not stored; `create` on the collection is handled by this function instead
   * (e.g. the v1 bindings resource).
   */
  virtualCreate?: (
    namespace: string,
    body: KubeObject,
    dryRun: boolean,
    /** Who is asking (review APIs answer about the requester). */
    requester: UserInfo,
  ) => Promise<KubeObject>;
}

export interface ApiDeprecation {
  /** The release that deprecated it: "1.16". */
  since: string;
  /** The release that no longer serves it: "1.22". */
  removedIn?: string;
  /** What to use instead. */
  replacement?: { group: string; version: string; kind: string };
}

export function apiVersionOf(def: { group: string; version: string }): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}
