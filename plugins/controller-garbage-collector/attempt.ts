/**
 * The collector's work on one object (upstream's attemptToDeleteItem and attemptToOrphanWorker),
 * always against a fresh read of it:
 *
 *  - an object whose every owner is gone (not found, or another uid under that name) is deleted,
 *    keeping its own cascade (its orphan or foregroundDeletion finalizer, else in the background);
 *  - references to missing owners, and to owners deleting in the foreground, are removed from an
 *    object that still has a live owner;
 *  - the dependent of an owner deleting in the foreground is deleted (in the foreground itself when
 *    it has dependents of its own);
 *  - an owner deleting in the foreground loses its finalizer once no dependent that blocks it is left;
 *  - an owner being deleted with the orphan finalizer has its dependents' references to it removed,
 *    then the finalizer.
 */
import { type ApiClient, isStatusError, type KubeObject } from 'skiff/sdk';
import type { OwnerReference } from 'skiff/sdk/api';
import type { AbsentOwners } from './absent-owners.js';
import { FOREGROUND, type GraphNode, type Identity, ORPHAN, ownerIdentity } from './graph.js';
import type { GraphBuilder } from './graph-builder.js';
import type { RestMapper } from './resources.js';

export interface AttemptContext {
  client: ApiClient;
  mapper: RestMapper;
  builder: GraphBuilder;
  absent: AbsentOwners;
  attemptToDelete(node: GraphNode): void;
}

/** A cluster-scoped object naming a namespaced owner: never resolvable, never retried (upstream). */
export class NamespacedOwnerOfClusterScoped extends Error {}

export type Outcome = 'done' | 'gone' | 'unobserved';

const notFound = (err: unknown) => isStatusError(err) && err.code === 404;
const conflict = (err: unknown) => isStatusError(err) && err.code === 409;

function resourceOf(ctx: AttemptContext, identity: Pick<Identity, 'apiVersion' | 'kind'>) {
  const resource = ctx.mapper.resourceFor(identity.apiVersion, identity.kind);
  if (!resource) throw new Error(`unable to find the resource of ${identity.apiVersion}, Kind=${identity.kind}`);
  return resource;
}

/** The object now, or undefined when it is gone or another object holds its name. */
async function latest(ctx: AttemptContext, identity: Identity): Promise<KubeObject | undefined> {
  const resource = resourceOf(ctx, identity);
  try {
    const obj = await ctx.client.get(resource, resource.namespaced ? identity.namespace : '', identity.name);
    return obj.metadata.uid === identity.uid ? obj : undefined;
  } catch (err) {
    if (notFound(err)) return undefined;
    throw err;
  }
}

export async function attemptToDelete(ctx: AttemptContext, item: GraphNode): Promise<Outcome> {
  // Being deleted already (without waiting for dependents): its deletion will tell its dependents.
  if (item.beingDeleted && !item.deletingDependents) return 'done';
  const obj = await latest(ctx, item.identity);
  if (!obj) {
    ctx.builder.deleted(item.identity, true);
    return 'gone';
  }
  if (item.deletingDependents) {
    await processDeletingDependents(ctx, item);
    return 'done';
  }
  const owners = obj.metadata.ownerReferences ?? [];
  if (owners.length === 0) return item.virtual ? 'unobserved' : 'done';
  const { solid, dangling, waiting } = await classify(ctx, item, owners);
  if (solid.length) {
    const stale = [...dangling, ...waiting].map((o) => o.uid);
    if (stale.length) await patchOwnerRefs(ctx, item.identity, (refs) => refs.filter((o) => !stale.includes(o.uid)));
  } else if (waiting.length && item.dependents.size) {
    if ([...item.dependents].some((d) => d.deletingDependents)) {
      // A cycle of foreground deletions would wait for ever: this one stops blocking its owners.
      await patchOwnerRefs(ctx, item.identity, (refs) => refs.map((o) => ({ ...o, blockOwnerDeletion: false })));
    }
    await deleteObject(ctx, item.identity, 'Foreground');
  } else {
    const finalizers = obj.metadata.finalizers ?? [];
    const policy = finalizers.includes(ORPHAN)
      ? 'Orphan'
      : finalizers.includes(FOREGROUND)
        ? 'Foreground'
        : 'Background';
    await deleteObject(ctx, item.identity, policy);
  }
  return item.virtual ? 'unobserved' : 'done';
}

async function classify(ctx: AttemptContext, item: GraphNode, owners: OwnerReference[]) {
  const solid: OwnerReference[] = [];
  const dangling: OwnerReference[] = [];
  const waiting: OwnerReference[] = [];
  for (const ref of owners) {
    const owner = await liveOwner(ctx, ref, item);
    if (!owner) dangling.push(ref);
    else if (owner.metadata.deletionTimestamp && owner.metadata.finalizers?.includes(FOREGROUND)) waiting.push(ref);
    else solid.push(ref);
  }
  return { solid, dangling, waiting };
}

/** Upstream's isDangling: the owner the reference names, or undefined when it does not exist. */
async function liveOwner(ctx: AttemptContext, ref: OwnerReference, item: GraphNode): Promise<KubeObject | undefined> {
  const clusterScoped = ownerIdentity(ref, '');
  const inNamespace = ownerIdentity(ref, item.identity.namespace);
  if (ctx.absent.has(clusterScoped) || ctx.absent.has(inNamespace)) return undefined;
  const resource = resourceOf(ctx, ref);
  if (!item.identity.namespace && resource.namespaced) {
    throw new NamespacedOwnerOfClusterScoped(
      `${item.identity.kind} ${item.identity.name} is cluster-scoped, but refers to a namespaced owner ${ref.kind} ${ref.name}`,
    );
  }
  const identity = resource.namespaced ? inNamespace : clusterScoped;
  try {
    const owner = await ctx.client.get(resource, identity.namespace, ref.name);
    if (owner.metadata.uid === ref.uid) return owner;
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  ctx.absent.add(identity);
  return undefined;
}

async function processDeletingDependents(ctx: AttemptContext, item: GraphNode): Promise<void> {
  const blocking = item.blockingDependents();
  if (blocking.length === 0) return removeFinalizer(ctx, item.identity, FOREGROUND);
  for (const dependent of blocking) if (!dependent.deletingDependents) ctx.attemptToDelete(dependent);
}

async function deleteObject(
  ctx: AttemptContext,
  identity: Identity,
  propagationPolicy: 'Orphan' | 'Foreground' | 'Background',
) {
  const resource = resourceOf(ctx, identity);
  try {
    await ctx.client.delete(resource, resource.namespaced ? identity.namespace : '', identity.name, {
      propagationPolicy,
      preconditions: { uid: identity.uid },
    });
  } catch (err) {
    // Gone already, or replaced by another object of that name (the uid precondition): nothing to do.
    if (!notFound(err) && !conflict(err)) throw err;
  }
}

/** Rewrites the object's owner references (a merge patch pinned to the version read, retried on conflict). */
export async function patchOwnerRefs(
  ctx: AttemptContext,
  identity: Identity,
  change: (refs: OwnerReference[]) => OwnerReference[],
): Promise<void> {
  const resource = resourceOf(ctx, identity);
  for (let attempt = 0; ; attempt++) {
    const obj = await latest(ctx, identity);
    if (!obj) return;
    const refs = obj.metadata.ownerReferences ?? [];
    const next = change(refs);
    if (JSON.stringify(next) === JSON.stringify(refs)) return;
    const metadata = {
      ownerReferences: next.length ? next : null,
      resourceVersion: obj.metadata.resourceVersion,
      uid: identity.uid,
    };
    try {
      await ctx.client.patch(resource, obj.metadata.namespace ?? '', identity.name, 'merge', { metadata });
      return;
    } catch (err) {
      if (notFound(err)) return;
      if (!conflict(err) || attempt >= 4) throw err;
    }
  }
}

/** Takes one finalizer off the object, as upstream's removeFinalizer (retried on conflict). */
export async function removeFinalizer(ctx: AttemptContext, identity: Identity, finalizer: string): Promise<void> {
  const resource = resourceOf(ctx, identity);
  for (let attempt = 0; ; attempt++) {
    const obj = await latest(ctx, identity);
    const finalizers = obj?.metadata.finalizers ?? [];
    if (!obj || !finalizers.includes(finalizer)) return;
    const rest = finalizers.filter((f) => f !== finalizer);
    const metadata = { finalizers: rest.length ? rest : null, resourceVersion: obj.metadata.resourceVersion };
    try {
      await ctx.client.patch(resource, obj.metadata.namespace ?? '', identity.name, 'merge', { metadata });
      return;
    } catch (err) {
      if (notFound(err)) return;
      if (!conflict(err) || attempt >= 4) throw err;
    }
  }
}

/** Upstream's attemptToOrphanWorker: the dependents lose their reference to the owner, then it loses the finalizer. */
export async function orphanDependents(ctx: AttemptContext, owner: GraphNode): Promise<void> {
  const uid = owner.identity.uid;
  await Promise.all(
    [...owner.dependents].map((d) => patchOwnerRefs(ctx, d.identity, (refs) => refs.filter((o) => o.uid !== uid))),
  );
  await removeFinalizer(ctx, owner.identity, ORPHAN);
}
