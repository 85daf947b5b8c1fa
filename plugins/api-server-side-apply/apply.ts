/**
 * Server-side apply and field ownership, after upstream's fieldmanager and structured-merge-diff:
 * every write records who changed which fields in metadata.managedFields, and an apply
 * (PATCH application/apply-patch+yaml) merges a configuration, removes fields its manager dropped,
 * and refuses to change fields other managers own unless forced.
 */

import { clone, type KubeObject, nowTimestamp, StatusError } from 'skiff/sdk/api';
import { emptyObjectOf } from './empty-object.js';
import { type FieldPath, FieldSet, isObject, type Json, type JsonObject, pathString } from './field-set.js';
import {
  decodeManagedFields,
  decodeOrEmpty,
  encodeManagedFields,
  type ManagedEntry,
  managerKey,
  mayHoldUnder,
  printManager,
} from './managed-fields.js';
import { compare, merge, removePath, type SchemaMeta, toFieldSet } from './typed-value.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** What field tracking needs to know about a kind and a request. */
export interface ManagedContext {
  manager: string;
  apiVersion: string;
  /** The kind, whose empty object a create is compared with (a built-in one's from the schema). */
  kind?: string;
  meta: SchemaMeta;
  /** The main resource of a kind with a status subresource does not own .status (upstream's reset fields). */
  ignoreStatus: boolean;
  /** 'status' for a write through the status subresource: it owns only .status. '' otherwise. */
  subresource?: string;
  /** For tests: the time to record. */
  now?: string;
}

/** Fields no one owns (upstream's stripMetaManager). */
const STRIPPED = FieldSet.of([
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields'].map(
    (f) => ['f:metadata', `f:${f}`],
  ),
  ['f:metadata', 'f:resourceVersion'],
]);
const STATUS = FieldSet.of([['f:status']]);

function scoped(set: FieldSet, ctx: ManagedContext): FieldSet {
  const s = set.difference(STRIPPED);
  // Through the status subresource only .status and what lies below it is the writer's.
  if (ctx.subresource === 'status') return s.difference(s.recursiveDifference(STATUS));
  return ctx.ignoreStatus ? s.recursiveDifference(STATUS) : s;
}

/** The object as field tracking compares it: without managedFields. */
function body(obj: KubeObject | undefined): JsonObject | undefined {
  if (!obj) return undefined;
  const { managedFields: _mf, ...metadata } = obj.metadata ?? {};
  return { ...(obj as unknown as JsonObject), metadata: metadata as JsonObject };
}

/** Only the status of an object, as a status write compares it. */
function statusOf(obj: KubeObject | undefined): JsonObject {
  const status = obj?.status;
  return { status: isObject(status) ? (status as JsonObject) : {} };
}

/** What a create compares against: the kind's empty object; for a kind the schema lacks, its top-level structs. */
function emptyLike(obj: KubeObject, ctx: ManagedContext): JsonObject {
  const known = ctx.kind ? emptyObjectOf(ctx.apiVersion, ctx.kind) : undefined;
  if (known) return known;
  const out: JsonObject = { metadata: {} };
  for (const f of ['spec', 'status']) if (isObject(obj[f])) out[f] = {};
  return out;
}

/**
 * Record a non-apply write (create, update, patch) by `ctx.manager` in next.metadata.managedFields:
 * the fields it added or changed become its own (taken from other managers), removed fields leave
 * every manager. Managed fields sent by the client replace the live ones (as upstream allows).
 */
export function trackUpdate(live: KubeObject | undefined, next: KubeObject, ctx: ManagedContext): void {
  let managers: Map<string, ManagedEntry> | undefined;
  const provided = next.metadata.managedFields;
  if (Array.isArray(provided) && provided.length > 0) {
    try {
      managers = decodeManagedFields(provided);
    } catch {
      managers = undefined;
    }
    if (managers && managers.size === 0) managers = undefined;
  }
  managers ??= decodeOrEmpty(live?.metadata.managedFields);
  // A status write owns only .status: compare that alone (a pod's status is written often).
  const cmp =
    ctx.subresource === 'status'
      ? compare(statusOf(live), statusOf(next), ctx.meta)
      : compare(body(live) ?? emptyLike(next, ctx), body(next), ctx.meta);
  // Sets are never changed in place, so one side alone is used as it is (a create adds only).
  const changed = scoped(cmp.modified.isEmpty() ? cmp.added : cmp.modified.union(cmp.added), ctx);
  const removed = scoped(cmp.removed, ctx);
  const subresource = ctx.subresource ?? '';
  const me = managerKey({ manager: ctx.manager, operation: 'Update', apiVersion: ctx.apiVersion, subresource });
  const tops = new Set([...changed.children.keys(), ...removed.children.keys()]);
  for (const [key, m] of managers) {
    if (key !== me && mayHoldUnder(m, tops)) m.set = m.set.difference(changed).difference(removed);
  }
  const previous = managers.get(me);
  if (!changed.isEmpty()) {
    managers.set(me, {
      manager: ctx.manager,
      operation: 'Update',
      apiVersion: ctx.apiVersion,
      subresource,
      time: ctx.now ?? nowTimestamp(),
      set: previous ? previous.set.difference(removed).union(changed) : changed,
    });
  } else if (previous) {
    previous.set = previous.set.difference(removed);
  }
  setManagedFields(next, managers);
}

function setManagedFields(obj: KubeObject, managers: Map<string, ManagedEntry>): void {
  const encoded = encodeManagedFields(managers);
  if (encoded.length > 0) obj.metadata.managedFields = encoded;
  else delete obj.metadata.managedFields;
}

export interface Conflict {
  manager: ManagedEntry;
  path: FieldPath;
}

/** Upstream's NewConflictError: 409 Conflict with a FieldManagerConflict cause per field. */
export function conflictError(conflicts: Conflict[]): StatusError {
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.manager)}`,
    field: pathString(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    message = `Apply failed with 1 conflict: conflict with ${printManager(c.manager)}: ${pathString(c.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const m = printManager(c.manager);
      byManager.set(m, [...(byManager.get(m) ?? []), pathString(c.path)]);
    }
    const lines: string[] = [];
    for (const m of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${m}:`);
      for (const p of byManager.get(m)!) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}

/**
 * Apply `config` by `ctx.manager` to `live` (undefined: the object does not exist yet). Returns the
 * object to write, with its managedFields; throws a 409 on conflicts unless `force`.
 */
export function applyConfig(
  live: KubeObject | undefined,
  config: KubeObject,
  ctx: ManagedContext,
  force: boolean,
): KubeObject {
  const managers = decodeOrEmpty(live?.metadata.managedFields);
  const me = managerKey({ manager: ctx.manager, operation: 'Apply', apiVersion: ctx.apiVersion, subresource: '' });
  const previous = managers.get(me);
  const liveBody = body(live) ?? {};
  const configBody = body(config)!;
  const newSet = scoped(toFieldSet(configBody, ctx.meta), ctx);
  const merged = merge(liveBody, configBody, ctx.meta) as JsonObject;
  managers.set(me, {
    manager: ctx.manager,
    operation: 'Apply',
    apiVersion: ctx.apiVersion,
    subresource: '',
    set: newSet,
    ...(previous?.time ? { time: previous.time } : {}),
  });

  // Fields this manager applied before and dropped now go, unless someone else owns them.
  if (previous) {
    let owned = new FieldSet();
    for (const m of managers.values()) owned = owned.union(m.set);
    for (const p of previous.set.difference(owned).paths()) {
      if (!owned.hasBelow(p)) removePath(merged, p, ctx.meta);
    }
  }

  const cmp = compare(live ? liveBody : emptyLike(config, ctx), merged, ctx.meta);
  // Sets are never changed in place, so one side alone is used as it is (a create adds only).
  const changed = scoped(cmp.modified.isEmpty() ? cmp.added : cmp.modified.union(cmp.added), ctx);
  const removed = scoped(cmp.removed, ctx);
  const conflicts: Conflict[] = [];
  for (const [key, m] of managers) {
    if (key === me) continue;
    for (const path of m.set.intersection(changed).paths()) conflicts.push({ manager: m, path });
  }
  if (conflicts.length > 0 && !force) {
    if (!allowedByLastApplied(live, conflicts, ctx)) throw conflictError(conflicts);
  }
  for (const [key, m] of managers) {
    if (key !== me) m.set = m.set.difference(changed).difference(removed);
  }
  const object = merged as unknown as KubeObject;
  object.metadata ??= {};
  const entry = managers.get(me)!;
  if (!previous || JSON.stringify(merged) !== JSON.stringify(liveBody)) entry.time = ctx.now ?? nowTimestamp();
  syncLastApplied(object, configBody, ctx);
  setManagedFields(object, managers);
  return object;
}

/**
 * Upstream's lastAppliedManager: `kubectl apply --server-side` (manager "kubectl") may take over
 * fields from client-side apply without conflicts when they are all in the last-applied
 * configuration and the live object has not drifted from it.
 */
function allowedByLastApplied(live: KubeObject | undefined, conflicts: Conflict[], ctx: ManagedContext): boolean {
  if (ctx.manager !== 'kubectl' || !live) return false;
  const text = live.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
  if (!text) return false;
  let last: Json;
  try {
    last = JSON.parse(text) as Json;
  } catch {
    return false;
  }
  if (!isObject(last)) return false;
  // Only fields whose live value is still the last-applied one.
  const allowed = toFieldSet(last, ctx.meta).difference(compare(last, body(live), ctx.meta).modified);
  return conflicts.every((c) => allowed.has(c.path));
}

/** Upstream's lastAppliedUpdater: kubectl's server-side apply keeps an existing last-applied annotation current. */
function syncLastApplied(object: KubeObject, config: JsonObject, ctx: ManagedContext): void {
  const annotations = object.metadata.annotations;
  if (ctx.manager !== 'kubectl' || !annotations?.[LAST_APPLIED_ANNOTATION]) return;
  const copy = clone(config) as KubeObject;
  if (copy.metadata?.annotations) {
    delete copy.metadata.annotations[LAST_APPLIED_ANNOTATION];
    if (Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
  }
  annotations[LAST_APPLIED_ANNOTATION] = JSON.stringify(copy);
}
