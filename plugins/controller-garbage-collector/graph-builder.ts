/**
 * Upstream's GraphBuilder: turns every informer event into graph changes and work. A new owner
 * reference to an unseen uid adds a virtual node to verify; a deleted object sends its dependents
 * to be checked (their owner is gone) and wakes owners waiting in a foreground deletion; an
 * object that starts being deleted with the `orphan` finalizer is queued to have its dependents
 * orphaned, one with `foregroundDeletion` has its dependents queued for deletion. A dependent that
 * names a namespaced owner seen in another namespace gets an OwnerRefInvalidNamespace warning.
 */
import type { ChangeType, KubeObject } from 'skiff/sdk';
import type { OwnerReference } from 'skiff/sdk/api';
import type { ServedResource } from 'skiff/sdk/client';
import {
  FOREGROUND,
  type Graph,
  GraphNode,
  type Identity,
  identityText,
  ORPHAN,
  ownerIdentity,
  sameIdentity,
} from './graph.js';
import { apiVersionOf } from './resources.js';

export interface GraphWork {
  attemptToDelete(node: GraphNode): void;
  attemptToOrphan(node: GraphNode): void;
  /** An owner known not to exist (upstream's absentOwnerCache). */
  absent(identity: Identity): void;
  /** A warning Event on the dependent. */
  warn(dependent: Identity, reason: string, message: string): void;
}

const orphaning = (beingDeleted: boolean, finalizers: string[]) => beingDeleted && finalizers.includes(ORPHAN);
const foreground = (beingDeleted: boolean, finalizers: string[]) => beingDeleted && finalizers.includes(FOREGROUND);

/** Whether a dependent's reference names `identity` exactly (a namespaced owner in the dependent's namespace). */
function refersTo(dependent: GraphNode, identity: Identity): boolean {
  return dependent.owners.some(
    (o) =>
      o.uid === identity.uid &&
      o.apiVersion === identity.apiVersion &&
      o.kind === identity.kind &&
      o.name === identity.name &&
      (identity.namespace === '' || dependent.identity.namespace === identity.namespace),
  );
}

export class GraphBuilder {
  constructor(
    readonly graph: Graph,
    private readonly work: GraphWork,
  ) {}

  observe(type: ChangeType, obj: KubeObject, resource: ServedResource): void {
    const identity: Identity = {
      apiVersion: apiVersionOf(resource),
      kind: resource.kind,
      namespace: obj.metadata.namespace ?? '',
      name: obj.metadata.name ?? '',
      uid: obj.metadata.uid ?? '',
    };
    if (!identity.uid) return;
    const node = this.graph.get(identity.uid);
    if (type === 'DELETED') this.deleted(identity, false);
    else if (!node) this.added(obj, identity);
    else this.updated(node, obj, identity);
  }

  private added(obj: KubeObject, identity: Identity): void {
    const node = new GraphNode(identity, false);
    node.observe(obj, identity);
    this.graph.set(node);
    this.addToOwners(node, node.owners);
    this.transitions(node, false, []);
  }

  private updated(node: GraphNode, obj: KubeObject, identity: Identity): void {
    if (node.virtual && !sameIdentity(node.identity, identity)) this.virtualSeenElsewhere(node, identity);
    const [wasDeleted, oldFinalizers, oldOwners] = [node.beingDeleted, node.finalizers, node.owners];
    node.observe(obj, identity);
    const added = node.owners.filter((o) => !oldOwners.some((x) => x.uid === o.uid));
    const removed = oldOwners.filter((o) => !node.owners.some((x) => x.uid === o.uid));
    // An owner in a foreground deletion waits for blocking dependents: one fewer may free it.
    for (const ref of removed) {
      const owner = this.graph.get(ref.uid);
      owner?.dependents.delete(node);
      if (owner && ref.blockOwnerDeletion) this.work.attemptToDelete(owner);
    }
    for (const ref of node.owners) {
      const before = oldOwners.find((x) => x.uid === ref.uid);
      const owner = this.graph.get(ref.uid);
      if (owner && before?.blockOwnerDeletion && !ref.blockOwnerDeletion) this.work.attemptToDelete(owner);
    }
    this.addToOwners(node, added);
    this.transitions(node, wasDeleted, oldFinalizers);
  }

  /** Upstream's processTransitions: orphaning or a foreground deletion has just begun. */
  private transitions(node: GraphNode, wasDeleted: boolean, oldFinalizers: string[]): void {
    if (!orphaning(wasDeleted, oldFinalizers) && orphaning(node.beingDeleted, node.finalizers)) {
      this.work.attemptToOrphan(node);
      return;
    }
    if (!foreground(wasDeleted, oldFinalizers) && foreground(node.beingDeleted, node.finalizers)) {
      node.deletingDependents = true;
      for (const dependent of node.dependents) this.work.attemptToDelete(dependent);
      this.work.attemptToDelete(node);
    }
  }

  /**
   * A virtual node's object is seen with other coordinates than its dependents gave: those whose
   * references do not match are checked again (a namespace mismatch is reported).
   */
  private virtualSeenElsewhere(node: GraphNode, observed: Identity): void {
    for (const dependent of node.dependents) {
      if (refersTo(dependent, observed)) continue;
      if (observed.namespace && dependent.identity.namespace !== observed.namespace) {
        this.reportInvalidNamespace(dependent, observed.uid);
      }
      this.work.attemptToDelete(dependent);
    }
  }

  /** Upstream's addDependentToOwners: unseen owners become virtual nodes to verify. */
  private addToOwners(node: GraphNode, refs: OwnerReference[]): void {
    let suspect = false;
    for (const ref of refs) {
      let owner = this.graph.get(ref.uid);
      if (!owner) {
        owner = new GraphNode(ownerIdentity(ref, node.identity.namespace), true);
        this.graph.set(owner);
        owner.dependents.add(node);
        this.work.attemptToDelete(owner);
        continue;
      }
      owner.dependents.add(node);
      if (suspect) continue;
      const ownerNamespace = owner.identity.namespace;
      if (ownerNamespace && ownerNamespace !== node.identity.namespace) {
        if (!owner.virtual) this.reportInvalidNamespace(node, ref.uid);
        suspect = true;
      } else if (!refersTo(node, owner.identity)) {
        suspect = true;
      } else if (!ownerNamespace && node.identity.namespace && owner.virtual) {
        suspect = true;
      }
    }
    // Verified by the collector: deleted once every owner proves absent, left alone otherwise.
    if (suspect) this.work.attemptToDelete(node);
  }

  private reportInvalidNamespace(dependent: GraphNode, ownerUid: string): void {
    const ref = dependent.owners.find((o) => o.uid === ownerUid);
    if (!ref) return;
    const namespace = dependent.identity.namespace;
    const message = `ownerRef ${identityText(ownerIdentity(ref, namespace))} does not exist in namespace "${namespace}"`;
    this.work.warn(dependent.identity, 'OwnerRefInvalidNamespace', message);
  }

  /**
   * An object gone: seen by an informer, or (`virtual`) found missing by the collector. Its
   * dependents are checked, and owners waiting for it in a foreground deletion are woken.
   */
  deleted(identity: Identity, virtual: boolean): void {
    const node = this.graph.get(identity.uid);
    if (!node) return;
    if (virtual && (!node.virtual || !this.allAgree(node, identity))) {
      // The collector found one set of coordinates missing; dependents naming others stay unjudged.
      const matching = [...node.dependents].filter((d) => refersTo(d, identity));
      if (matching.length) this.work.absent(identity);
      for (const dependent of matching) this.work.attemptToDelete(dependent);
      if (node.virtual && sameIdentity(node.identity, identity)) this.retryOtherIdentity(node, identity);
      return;
    }
    this.graph.remove(node);
    if (node.dependents.size) this.work.absent(node.identity);
    for (const dependent of node.dependents) this.work.attemptToDelete(dependent);
    for (const ref of node.owners) {
      const owner = this.graph.get(ref.uid);
      if (owner?.deletingDependents) this.work.attemptToDelete(owner);
    }
  }

  private allAgree(node: GraphNode, identity: Identity): boolean {
    return [...node.dependents].every((d) => refersTo(d, identity));
  }

  /** A virtual node whose dependents disagree: verified again under another dependent's coordinates. */
  private retryOtherIdentity(node: GraphNode, missing: Identity): void {
    for (const dependent of node.dependents) {
      const ref = dependent.owners.find((o) => o.uid === node.identity.uid);
      if (!ref) continue;
      const alternative = ownerIdentity(ref, dependent.identity.namespace);
      if (sameIdentity(alternative, missing)) continue;
      node.identity = alternative;
      this.work.attemptToDelete(node);
      return;
    }
  }
}
