/**
 * Upstream's ReplicaSet controller (pkg/controller/replicaset), for ReplicationControllers and
 * ReplicaSets alike: informers on the owners and on pods feed a work queue of owner keys, several
 * workers sync them. Each change of a pod wakes the owner its controller reference names (and,
 * for an orphan, every owner whose selector matches, so one can adopt it); creations and deletions
 * seen are checked off the owner's expectations. See sync.ts for what one sync does.
 */
import { type ChangeType, CORE_V1, type ControllerContext, Informer, type KubeObject } from 'skiff/sdk';
import { ControllerQueue, controllerRefOf, eventRecorder, isPodReady, matchesLabels } from 'skiff/sdk/controller';
import { Expectations } from './expectations.js';
import type { ReplicaKind } from './kinds.js';
import { PodControl } from './pod-control.js';
import { PodIndex, podKey, sameLabels } from './pod-index.js';
import { specOf } from './status.js';
import { syncReplicas } from './sync.js';

export interface ReplicaManagerOptions {
  /** Upstream's --concurrent-rc-syncs / --concurrent-replicaset-syncs. */
  workers: number;
  /** Upstream's BurstReplicas: at most this many creations or deletions per sync. */
  burstReplicas: number;
}

export class ReplicaManager {
  readonly owners: Informer;
  readonly podInformer: Informer;
  readonly pods = new PodIndex();
  readonly queue = new ControllerQueue();
  readonly expectations = new Expectations();
  readonly podControl: PodControl;

  constructor(
    readonly c: ControllerContext,
    readonly kind: ReplicaKind,
    readonly options: ReplicaManagerOptions,
  ) {
    this.owners = new Informer(c.client, kind.ref, c.logger);
    this.podInformer = new Informer(c.client, CORE_V1('pods'), c.logger);
    this.podControl = new PodControl(c, kind, eventRecorder(c.client, kind.component, c.logger));
  }

  async run(signal: AbortSignal): Promise<void> {
    const watching = [
      this.owners.run(signal, (type, obj) => this.onOwner(type, obj)),
      this.podInformer.run(signal, (type, pod) => this.onPod(type, pod)),
    ];
    await untilSynced(signal, [this.owners, this.podInformer]);
    const working = signal.aborted
      ? Promise.resolve()
      : this.queue.run(signal, this.options.workers, (key) => syncReplicas(this, key), this.c.logger);
    await Promise.all([...watching, working]);
  }

  /** The owner key (namespace/name) a controller reference names, when that owner exists with that uid. */
  resolve(namespace: string, ref: ReturnType<typeof controllerRefOf>): string | undefined {
    if (!ref || ref.kind !== this.kind.kind) return undefined;
    const key = `${namespace}/${ref.name}`;
    return this.owners.items.get(key)?.metadata.uid === ref.uid ? key : undefined;
  }

  /** Owners in the pod's namespace whose selector matches it (for an orphan to be adopted). */
  matchingOwners(pod: KubeObject): string[] {
    const namespace = pod.metadata.namespace ?? '';
    const keys: string[] = [];
    for (const [key, owner] of this.owners.items) {
      if (owner.metadata.namespace !== namespace) continue;
      const selector = this.kind.selector(owner);
      if (selector && matchesLabels(selector, pod.metadata.labels)) keys.push(key);
    }
    return keys;
  }

  private onOwner(type: ChangeType, owner: KubeObject): void {
    const key = `${owner.metadata.namespace ?? ''}/${owner.metadata.name ?? ''}`;
    if (type === 'DELETED') this.expectations.delete(key);
    this.queue.add(key);
  }

  private onPod(type: ChangeType, pod: KubeObject): void {
    const old = this.pods.apply(type, pod);
    if (type === 'DELETED') this.podGone(pod);
    else if (!old) this.podAdded(pod);
    else if (old.metadata.resourceVersion !== pod.metadata.resourceVersion) this.podUpdated(old, pod);
  }

  private podAdded(pod: KubeObject): void {
    // A pod already being deleted when first seen (after a restart): count it as a deletion.
    if (pod.metadata.deletionTimestamp) {
      this.podGone(pod);
      return;
    }
    const owner = this.resolve(pod.metadata.namespace ?? '', controllerRefOf(pod));
    if (owner) {
      this.expectations.creationObserved(owner);
      this.queue.add(owner);
      return;
    }
    if (!controllerRefOf(pod)) for (const key of this.matchingOwners(pod)) this.queue.add(key);
  }

  private podUpdated(old: KubeObject, pod: KubeObject): void {
    const namespace = pod.metadata.namespace ?? '';
    const labelsChanged = !sameLabels(old, pod);
    if (pod.metadata.deletionTimestamp) {
      this.podGone(pod);
      if (labelsChanged) this.podGone(old);
      return;
    }
    const [oldRef, ref] = [controllerRefOf(old), controllerRefOf(pod)];
    const refChanged = JSON.stringify(oldRef) !== JSON.stringify(ref);
    const previous = refChanged ? this.resolve(namespace, oldRef) : undefined;
    if (previous) this.queue.add(previous);
    if (ref) {
      const owner = this.resolve(namespace, ref);
      if (!owner) return;
      this.queue.add(owner);
      const minReady = specOf(this.owners.items.get(owner)!).minReadySeconds ?? 0;
      // Available only minReadySeconds after it became ready: look again then (plus a second of skew).
      if (minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.queue.addAfter(owner, (minReady + 1) * 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const key of this.matchingOwners(pod)) this.queue.add(key);
  }

  private podGone(pod: KubeObject): void {
    const owner = this.resolve(pod.metadata.namespace ?? '', controllerRefOf(pod));
    if (!owner) return;
    this.expectations.deletionObserved(owner, podKey(pod));
    this.queue.add(owner);
  }
}

/** Resolves once every informer has taken in its first list, or when `signal` aborts. */
export function untilSynced(signal: AbortSignal, informers: Informer[]): Promise<void> {
  return new Promise((resolve) => {
    signal.addEventListener('abort', () => resolve(), { once: true });
    void Promise.all(informers.map((i) => i.hasSynced())).then(() => resolve());
  });
}
