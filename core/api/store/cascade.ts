/**
 * The API server's half of cascading deletion, as upstream's generic store does it
 * (deletionFinalizersForGarbageCollection): a DELETE sets the finalizers that tell the garbage
 * collector what to do with the object's dependents.
 *
 *  - Orphan (or the legacy orphanDependents: true): the `orphan` finalizer; the collector removes
 *    the dependents' references to the object, then the finalizer, and the object goes.
 *  - Foreground: the `foregroundDeletion` finalizer; the object stays (with its deletionTimestamp)
 *    until the collector has deleted every dependent that has blockOwnerDeletion set.
 *  - Background: neither; the object goes at once and the collector deletes its dependents after.
 *
 * Without a policy in the request, a finalizer already on the object decides, then the kind's
 * default (its strategy's defaultGarbageCollectionPolicy: core/v1 ReplicationControllers orphan,
 * as upstream keeps for v1 clients; everything else deletes dependents in the background). A
 * second DELETE of an object being deleted may change the policy: its finalizers are rewritten.
 */
import { errors } from '../../errors.js';
import type { KubeObject, Strategy } from '../types.js';

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

export type GarbageCollectionPolicy = NonNullable<Strategy['defaultGarbageCollectionPolicy']>;

export interface CascadeOptions {
  propagationPolicy?: string;
  orphanDependents?: boolean;
}

/** Upstream's ValidateDeleteOptions: the legacy flag and the policy exclude each other. */
export function checkCascadeOptions(options: CascadeOptions): void {
  if (options.orphanDependents !== undefined && options.propagationPolicy) {
    throw errors.badRequest(
      `propagationPolicy: Invalid value: "${options.propagationPolicy}": orphanDependents and deletionPropagation cannot be both set`,
    );
  }
}

function shouldOrphan(finalizers: string[], options: CascadeOptions, policy?: GarbageCollectionPolicy): boolean {
  if (options.orphanDependents !== undefined) return options.orphanDependents;
  if (options.propagationPolicy) return options.propagationPolicy === 'Orphan';
  if (finalizers.includes(ORPHAN_FINALIZER)) return true;
  if (finalizers.includes(FOREGROUND_FINALIZER)) return false;
  return policy === 'OrphanDependents';
}

function shouldDeleteInForeground(finalizers: string[], options: CascadeOptions): boolean {
  if (options.orphanDependents !== undefined) return false;
  if (options.propagationPolicy) return options.propagationPolicy === 'Foreground';
  return finalizers.includes(FOREGROUND_FINALIZER) && !finalizers.includes(ORPHAN_FINALIZER);
}

/**
 * The finalizers `obj` must carry after this DELETE, or undefined when they stay as they are.
 * Kinds whose default policy is Unsupported never get either finalizer.
 */
export function deletionFinalizers(
  obj: KubeObject,
  options: CascadeOptions,
  policy?: GarbageCollectionPolicy,
): string[] | undefined {
  if (policy === 'Unsupported') return undefined;
  const current = obj.metadata.finalizers ?? [];
  const next = current.filter((f) => f !== ORPHAN_FINALIZER && f !== FOREGROUND_FINALIZER);
  if (shouldOrphan(current, options, policy)) next.push(ORPHAN_FINALIZER);
  else if (shouldDeleteInForeground(current, options)) next.push(FOREGROUND_FINALIZER);
  const same = next.length === current.length && next.every((f) => current.includes(f));
  return same ? undefined : next;
}

/** Whether two finalizer lists hold the same names. */
export function sameFinalizers(a: KubeObject, b: KubeObject): boolean {
  const x = a.metadata.finalizers ?? [];
  const y = b.metadata.finalizers ?? [];
  return x.length === y.length && x.every((f) => y.includes(f));
}
