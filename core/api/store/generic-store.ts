/**
 * The generic store: upstream's registry.Store in one class. It owns metadata semantics (uid,
 * resourceVersion, generation, timestamps, generateName, finalizers, graceful deletion), optimistic
 * concurrency, admission calls and dry runs, for every kind; kinds add behaviour via their Strategy.
 */
import { randomUUID } from 'node:crypto';
import type { AdmissionAttributes, AdmissionOperation, UserInfo } from '../../auth-types.js';
import { runAdmissionPhase } from '../../chains.js';
import { errors, isStatusError } from '../../errors.js';
import type { Hooks } from '../../hooks.js';
import { KeyExistsError, KeyNotFoundError, RevisionMismatchError, type Storage } from '../../storage/types.js';
import type { FieldManager } from '../field-manager.js';
import { clone, decodeStored, encodeForStorage, generateNameSuffix, nowTimestamp, specOf } from '../meta.js';
import { storageKey } from '../registry.js';
import type { KubeObject, ObjectStore, ResourceDefinition, StrategyContext } from '../types.js';
import { validateObjectMeta } from '../validation.js';
import { checkBody, checkDeleteOptions, type DeleteOptions } from './body-check.js';
import { checkCascadeOptions, deletionFinalizers, sameFinalizers } from './cascade.js';
import { checkDeletePreconditions, checkUid, revisionOf } from './preconditions.js';
import type { RecentWrites } from './recent-writes.js';
import { withStorageErrors } from './storage-errors.js';
import type { WriteScope } from './write-scope.js';

const isObject = (v: unknown): v is KubeObject => v !== null && typeof v === 'object' && !Array.isArray(v);

export type { DeleteOptions } from './body-check.js';
export type { WriteScope } from './write-scope.js';

const MAX_CONFLICT_RETRIES = 5;

export class GenericStore implements ObjectStore {
  readonly qualified: { group: string; resource: string };

  constructor(
    readonly definition: ResourceDefinition,
    private readonly storage: Storage,
    private readonly hooks: Hooks,
    /** Shared with the watch cache, which takes its copies of what this store writes from it. */
    private readonly recent?: RecentWrites,
    /** Records managedFields on writes whose scope names a manager. */
    private readonly fields?: FieldManager,
  ) {
    this.qualified = { group: definition.group, resource: definition.plural };
    const { group, version, plural, kind } = definition;
    this.admissionResource = Object.freeze({ group, version, resource: plural });
    this.admissionKind = Object.freeze({ group, version, kind });
  }

  // What every admission call names, made once per kind (frozen: every call shares them).
  private readonly admissionResource: AdmissionAttributes['resource'];
  private readonly admissionKind: AdmissionAttributes['kind'];

  key(namespace: string, name: string): string {
    return storageKey(this.definition, namespace, name);
  }

  private strategyContext(namespace: string, dryRun: boolean, subresource = ''): StrategyContext {
    return { namespace, dryRun, subresource };
  }

  async get(namespace: string, name: string): Promise<KubeObject> {
    const kv = await this.call(() => this.storage.get(this.key(namespace, name)));
    if (!kv) throw errors.notFound(this.qualified, name);
    return decodeStored(kv);
  }

  async create(scope: WriteScope, body: KubeObject): Promise<KubeObject> {
    const ctx = this.strategyContext(scope.namespace, scope.dryRun);
    // Awaited only when the kind's defaulting is async: events, the most written kind, have none.
    const defaulted = isObject(body) ? this.definition.strategy?.defaults?.(body, ctx) : undefined;
    if (defaulted) await defaulted;
    if (scope.fieldManager !== undefined)
      this.fields?.trackUpdate(this.definition, scope.fieldManager, undefined, body);
    const obj = checkBody(this.definition, body, scope.namespace);
    const meta = obj.metadata;
    if (meta.resourceVersion) throw errors.badRequest('resourceVersion should not be set on objects to be created');
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${generateNameSuffix()}`;
    meta.uid = randomUUID();
    meta.creationTimestamp = nowTimestamp();
    // Only kinds that track generation have one, as upstream (pods, configmaps, secrets, events have none).
    if (this.tracksGeneration(obj)) meta.generation = 1;
    else delete meta.generation;
    for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'] as const) delete meta[field];

    await this.definition.strategy?.prepareForCreate?.(obj, ctx);
    const mutating = this.admit('CREATE', scope, obj, undefined, 'mutating');
    if (mutating) await mutating;
    this.validate(obj, [
      ...validateObjectMeta(obj.metadata, this.definition.nameRule ?? 'subdomain', this.definition.namespaced),
      ...(this.definition.strategy?.validate?.(obj, ctx) ?? []),
    ]);
    // Only for a caller that shows warnings (HTTP): in-process components pay nothing.
    if (scope.warn) for (const w of this.definition.strategy?.warningsOnCreate?.(obj, ctx) ?? []) scope.warn(w);
    this.definition.strategy?.canonicalize?.(obj);
    const validating = this.admit('CREATE', scope, obj, undefined, 'validating');
    if (validating) await validating;
    if (scope.dryRun) return obj;
    for (let attempt = 0; ; attempt++) {
      try {
        const kv = await this.call(() =>
          this.storage.create(this.key(scope.namespace, obj.metadata.name!), this.encode(obj)),
        );
        return stamped(obj, kv.modRevision);
      } catch (err) {
        if (!(err instanceof KeyExistsError)) throw err;
        // A generated name that collides is our problem, not the client's: pick another.
        const generated = meta.generateName && !body.metadata?.name;
        if (!generated || attempt >= 5) throw errors.alreadyExists(this.qualified, obj.metadata.name!);
        meta.name = `${meta.generateName}${generateNameSuffix()}`;
      }
    }
  }

  /** PUT. Returns whether it created the object (only kinds with allowCreateOnUpdate). */
  async update(scope: WriteScope, name: string, body: KubeObject): Promise<{ object: KubeObject; created: boolean }> {
    const obj = checkBody(this.definition, body, scope.namespace);
    if (obj.metadata.name !== name) {
      throw errors.badRequest(
        `the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`,
      );
    }
    const precondition = obj.metadata.resourceVersion;
    try {
      const object = await this.updateWith(scope, name, () => obj, precondition);
      return { object, created: false };
    } catch (err) {
      const missing = isStatusError(err) && err.code === 404 && !scope.subresource;
      if (!missing || !this.definition.allowCreateOnUpdate) throw err;
      const { resourceVersion: _rv, ...metadata } = obj.metadata;
      return { object: await this.create(scope, { ...obj, metadata }), created: true };
    }
  }

  guaranteedUpdate(
    namespace: string,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    options: { dryRun?: boolean; expectedResourceVersion?: string; user?: UserInfo; subresource?: string } = {},
  ): Promise<KubeObject> {
    const scope: WriteScope = {
      namespace,
      dryRun: options.dryRun ?? false,
      user: options.user ?? { name: 'system:apiserver', groups: ['system:masters'] },
      subresource: options.subresource,
    };
    return this.updateWith(scope, name, mutate, options.expectedResourceVersion);
  }

  /**
   * Read, mutate, write with compare-and-swap, as upstream's Store.Update: the resourceVersion of
   * the object `mutate` returns is the precondition (a PUT's body, a patch that sets one), and so is
   * `precondition`; either one differing from the stored revision is the client's 409 ("" and "0"
   * mean none). A lost compare-and-swap re-reads and mutates again: a patch that left the
   * resourceVersion alone carries the newer one and applies to the newest object, as upstream's.
   */
  async updateWith(
    scope: WriteScope,
    name: string,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    precondition?: string,
  ): Promise<KubeObject> {
    const expected = revisionOf(precondition);
    for (let attempt = 0; ; attempt++) {
      const key = this.key(scope.namespace, name);
      const kv = await this.call(() => this.storage.get(key));
      if (!kv) throw errors.notFound(this.qualified, name);
      if (expected !== undefined && expected !== kv.modRevision)
        throw errors.staleResourceVersion(this.qualified, name);
      const old = decodeStored(kv);
      const result = await mutate(clone(old));
      // Subresource writes (status, binding, scale) change no field that has a default.
      const defaulted =
        !scope.subresource && isObject(result)
          ? this.definition.strategy?.defaults?.(result, this.strategyContext(scope.namespace, scope.dryRun))
          : undefined;
      if (defaulted) await defaulted;
      // `old` is the field manager's `live`: nothing changes it.
      if (scope.fieldManager !== undefined)
        this.fields?.trackUpdate(this.definition, scope.fieldManager, old, result, scope.subresource);
      const mutated = checkBody(this.definition, result, scope.namespace);
      const pinned = revisionOf(mutated.metadata.resourceVersion);
      if (pinned !== undefined && pinned !== kv.modRevision) throw errors.staleResourceVersion(this.qualified, name);
      const next = await this.prepareUpdate(scope, old, mutated);
      const value = encodeForStorage(next);
      if (value === kv.value) return old; // nothing changed: no write, no new resourceVersion
      if (scope.dryRun) return next;
      try {
        if (next.metadata.deletionTimestamp && !this.holds(next)) {
          return await this.finishDelete(key, next, kv.modRevision);
        }
        this.recent?.remember(value, next);
        const written = await this.call(() => this.storage.update(key, value, kv.modRevision));
        return stamped(next, written.modRevision);
      } catch (err) {
        // Mutated again from the newer object, a pinned resourceVersion no longer matches: a 409.
        const retry = err instanceof RevisionMismatchError && expected === undefined && attempt < MAX_CONFLICT_RETRIES;
        if (retry) continue;
        if (err instanceof RevisionMismatchError) throw errors.staleResourceVersion(this.qualified, name);
        if (err instanceof KeyNotFoundError) throw errors.notFound(this.qualified, name);
        throw err;
      }
    }
  }

  private async prepareUpdate(scope: WriteScope, old: KubeObject, obj: KubeObject): Promise<KubeObject> {
    const subresource = scope.subresource ?? '';
    // A status write changes only .status; a main-resource write leaves status to the strategy.
    const next = subresource === 'status' ? { ...clone(old), status: obj.status } : obj;
    // ...and the field manager's record of it, when the write is tracked.
    if (next !== obj && scope.fieldManager !== undefined) next.metadata.managedFields = obj.metadata.managedFields;
    checkUid(this.qualified, old, obj.metadata.uid);
    const meta = next.metadata;
    for (const field of [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
    ] as const) {
      if (old.metadata[field] === undefined) delete meta[field];
      else (meta as Record<string, unknown>)[field] = old.metadata[field];
    }
    meta.name = old.metadata.name;
    meta.resourceVersion = old.metadata.resourceVersion;
    const ctx = this.strategyContext(scope.namespace, scope.dryRun, subresource);
    if (subresource === '') await this.definition.strategy?.prepareForUpdate?.(next, old, ctx);
    if (this.tracksGeneration(next) && specOf(next) !== specOf(old))
      meta.generation = (old.metadata.generation ?? 1) + 1;
    await this.admit('UPDATE', scope, next, old, 'mutating');
    this.validate(next, [
      ...validateObjectMeta(next.metadata, 'path-segment', this.definition.namespaced),
      ...(this.definition.strategy?.validateUpdate?.(next, old, ctx) ?? []),
    ]);
    if (subresource === '') {
      const warnings = scope.warn && this.definition.strategy?.warningsOnUpdate?.(next, old, ctx);
      for (const w of warnings || []) scope.warn!(w);
      this.definition.strategy?.canonicalize?.(next);
    }
    await this.admit('UPDATE', scope, next, old, 'validating');
    return next;
  }

  private tracksGeneration(obj: KubeObject): boolean {
    return this.definition.strategy?.tracksGeneration ?? obj.spec !== undefined;
  }

  /**
   * DELETE. Objects with finalizers (or a grace period the strategy asks for) are marked with a
   * deletionTimestamp and stay until their finalizers are gone; the rest are removed at once.
   */
  async delete(
    scope: WriteScope,
    name: string,
    options: DeleteOptions = {},
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    checkDeleteOptions(options);
    checkCascadeOptions(options);
    for (let attempt = 0; ; attempt++) {
      const key = this.key(scope.namespace, name);
      const kv = await this.call(() => this.storage.get(key));
      if (!kv) throw errors.notFound(this.qualified, name);
      const current = decodeStored(kv);
      checkDeletePreconditions(this.qualified, current, options.preconditions);
      await this.admit('DELETE', scope, undefined, current, 'mutating');
      await this.admit('DELETE', scope, undefined, current, 'validating');
      try {
        const next = clone(current);
        const cascade = deletionFinalizers(next, options, this.definition.strategy?.defaultGarbageCollectionPolicy);
        if (cascade) next.metadata.finalizers = cascade;
        if (this.holds(next, options)) {
          return { object: await this.markDeleting(scope, key, current, next, kv.modRevision), deleted: false };
        }
        if (scope.dryRun) return { object: current, deleted: true };
        return { object: await this.finishDelete(key, current, kv.modRevision), deleted: true };
      } catch (err) {
        if (err instanceof RevisionMismatchError && attempt < MAX_CONFLICT_RETRIES) continue;
        if (err instanceof KeyNotFoundError) throw errors.notFound(this.qualified, name);
        throw err;
      }
    }
  }

  /** Whether a deleting object must stay: finalizers left, or its kind holds it (may mutate `obj`). */
  private holds(obj: KubeObject, options?: DeleteOptions): boolean {
    const held = this.definition.strategy?.holdOnDelete?.(obj, options && { ...options }) ?? false;
    return held || Boolean(obj.metadata.finalizers?.length);
  }

  private async markDeleting(
    scope: WriteScope,
    key: string,
    current: KubeObject,
    next: KubeObject,
    rev: number,
  ): Promise<KubeObject> {
    // A grace period the strategy set (a pod on a node): marked to go then; a later, shorter one moves it up.
    const grace = next.metadata.deletionGracePeriodSeconds ?? 0;
    const marked = current.metadata.deletionTimestamp;
    if (marked && grace >= (current.metadata.deletionGracePeriodSeconds ?? 0)) {
      // Marked already: only a new cascade policy (other finalizers, see cascade.ts) is written.
      if (sameFinalizers(current, next)) return current;
      next.metadata.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds;
    } else {
      next.metadata.deletionTimestamp =
        grace > 0 ? new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : nowTimestamp();
      next.metadata.deletionGracePeriodSeconds = grace;
    }
    if (scope.dryRun) return next;
    const kv = await this.call(() => this.storage.update(key, this.encode(next), rev));
    return stamped(next, kv.modRevision);
  }

  private async finishDelete(key: string, current: KubeObject, rev: number): Promise<KubeObject> {
    const kv = await this.call(() => this.storage.delete(key, rev));
    await this.definition.strategy?.afterDelete?.(
      current,
      this.strategyContext(current.metadata.namespace ?? '', false),
    );
    const deleted = decodeStored({ value: kv.value, modRevision: kv.modRevision });
    return deleted;
  }

  /** The text to store; remembered for the watch cache when this store shares its RecentWrites. */
  private encode(obj: KubeObject): string {
    return this.recent ? this.recent.encode(obj) : encodeForStorage(obj);
  }

  private validate(obj: KubeObject, fieldErrors: ReturnType<typeof validateObjectMeta>): void {
    if (fieldErrors.length)
      throw errors.invalid(this.definition.kind, this.definition.group, obj.metadata.name ?? '', fieldErrors);
  }

  /**
   * Admission of a POST to a subresource (serviceaccounts/token, pods/binding): the body is the
   * subresource's own kind; the name is the parent object's, as upstream's attributes give them.
   */
  async admitSubresourceCreate(scope: WriteScope, subresource: string, name: string, body: KubeObject): Promise<void> {
    // The handler validates the body; admission only needs its kind's name, so a malformed one passes as ''.
    const apiVersion = typeof body.apiVersion === 'string' ? body.apiVersion : '';
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const kind = typeof body.kind === 'string' ? body.kind : '';
    for (const phase of ['mutating', 'validating'] as const) {
      await runAdmissionPhase(this.hooks, phase, {
        operation: 'CREATE',
        resource: this.admissionResource,
        subresource,
        kind: { group: group!, version: version!, kind },
        namespace: scope.namespace,
        name,
        object: body,
        user: scope.user,
        dryRun: scope.dryRun,
      });
    }
  }

  /** Undefined when admission is done at once (see runAdmissionPhase), else a promise. */
  private admit(
    operation: AdmissionOperation,
    scope: WriteScope,
    object: KubeObject | undefined,
    oldObject: KubeObject | undefined,
    phase: 'mutating' | 'validating',
  ): Promise<void> | undefined {
    const hook = phase === 'mutating' ? this.hooks.admitMutating : this.hooks.admitValidating;
    if (hook.taps.length === 0) return undefined;
    return runAdmissionPhase(this.hooks, phase, {
      operation,
      resource: this.admissionResource,
      subresource: scope.subresource ?? '',
      kind: this.admissionKind,
      namespace: scope.namespace,
      name: (object ?? oldObject)?.metadata.name ?? '',
      object,
      oldObject,
      user: scope.user,
      dryRun: scope.dryRun,
    });
  }

  /** Storage failures become API errors the client can act on. */
  private call<T>(fn: () => Promise<T>): Promise<T> {
    return withStorageErrors(fn);
  }
}

/**
 * A written object as its reader gets it: the store's own copy, which it encoded, stamped with
 * the revision storage gave it. Parsing the stored text back would give the same object (the text
 * is JSON.stringify of it) at the price of a parse.
 */
function stamped(obj: KubeObject, revision: number): KubeObject {
  obj.metadata.resourceVersion = String(revision);
  return obj;
}
