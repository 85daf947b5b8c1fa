/**
 * The garbage collector's dependency graph (upstream's uidToNode): one node per object the
 * informers have seen, by uid, with its owner references and the nodes that name it as an owner.
 * An owner that has not been seen (yet) is a virtual node, made from the first reference to it:
 * the collector asks the API server whether it exists.
 */
import type { KubeObject } from 'skiff/sdk';
import type { OwnerReference } from 'skiff/sdk/api';

export const ORPHAN = 'orphan';
export const FOREGROUND = 'foregroundDeletion';

/** Where an object is: apiVersion, kind, namespace ('' for cluster-scoped), name and uid. */
export interface Identity {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

export const identityText = (i: Identity) =>
  `[${i.apiVersion}/${i.kind}, namespace: ${i.namespace}, name: ${i.name}, uid: ${i.uid}]`;

export const sameIdentity = (a: Identity, b: Identity) =>
  a.uid === b.uid &&
  a.apiVersion === b.apiVersion &&
  a.kind === b.kind &&
  a.namespace === b.namespace &&
  a.name === b.name;

export class GraphNode {
  owners: OwnerReference[] = [];
  readonly dependents = new Set<GraphNode>();
  /** Deleting (a deletionTimestamp) with the foregroundDeletion finalizer: waits for its dependents. */
  deletingDependents = false;
  beingDeleted = false;
  /** Finalizers as last seen, to notice an orphan or foreground deletion begin. */
  finalizers: string[] = [];

  constructor(
    public identity: Identity,
    /** Known only as someone's owner, never seen by an informer. */
    public virtual: boolean,
  ) {}

  /** Dependents whose reference to this node has blockOwnerDeletion set: a foreground deletion waits for them. */
  blockingDependents(): GraphNode[] {
    return [...this.dependents].filter((d) =>
      d.owners.some((o) => o.uid === this.identity.uid && o.blockOwnerDeletion === true),
    );
  }

  /** Takes in what an informer saw of the object. */
  observe(obj: KubeObject, identity: Identity): void {
    this.identity = identity;
    this.virtual = false;
    this.owners = [...(obj.metadata.ownerReferences ?? [])];
    this.finalizers = [...(obj.metadata.finalizers ?? [])];
    this.beingDeleted = Boolean(obj.metadata.deletionTimestamp);
    if (this.beingDeleted && this.finalizers.includes(FOREGROUND)) this.deletingDependents = true;
  }
}

export class Graph {
  private readonly nodes = new Map<string, GraphNode>();

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  get size(): number {
    return this.nodes.size;
  }

  set(node: GraphNode): void {
    this.nodes.set(node.identity.uid, node);
  }

  /** Removes the node and its place among its owners' dependents. */
  remove(node: GraphNode): void {
    this.nodes.delete(node.identity.uid);
    for (const owner of node.owners) this.nodes.get(owner.uid)?.dependents.delete(node);
  }
}

/** An owner reference's identity as the dependent names it (namespaced owners live in the dependent's namespace). */
export function ownerIdentity(ref: OwnerReference, namespace: string): Identity {
  return { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace };
}
