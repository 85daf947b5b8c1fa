/**
 * Upstream's service controller (k8s.io/cloud-provider controllers/service; the seed's 3.2.5):
 * for each Service of type LoadBalancer it asks the cloud provider to ensure a load balancer for
 * the service's ports and the usable nodes, writes the balancer's address to
 * status.loadBalancer.ingress, and holds the service.kubernetes.io/load-balancer-cleanup finalizer
 * until the balancer is deleted (the service deleted, or no longer a LoadBalancer). When the set of
 * usable nodes changes, every balancer is pointed at the new set.
 */
import { CORE_V1, type ControllerContext, Informer, isStatusError, type KubeObject, objectKey } from 'skiff/sdk';
import type { LoadBalancer, LoadBalancerStatus } from 'skiff/sdk/cloud';
import { ControllerQueue, type EventRecorder, eventRecorder, waitForCacheSync } from 'skiff/sdk/controller';
import {
  balancerMayUse,
  changesForLB,
  hasFinalizer,
  LB_FINALIZER,
  needsCleanup,
  nodeChangeMatters,
  wantsLoadBalancer,
} from './decisions.js';

const SERVICES = CORE_V1('services');
const SERVICE_KIND = { apiVersion: 'v1', kind: 'Service' };

export interface ServiceControllerOptions {
  workers: number;
  clusterName: string;
  nodeSyncPeriodMs: number;
}

const statusOf = (svc: KubeObject): LoadBalancerStatus =>
  ((svc.status as { loadBalancer?: LoadBalancerStatus } | undefined)?.loadBalancer ?? {}) as LoadBalancerStatus;

export class ServiceController {
  private readonly services: Informer;
  private readonly nodes: Informer;
  private readonly queue = new ControllerQueue();
  private readonly recorder: EventRecorder;
  /** The services last seen by the informer handler (upstream gets the old object with each update). */
  private readonly seen = new Map<string, KubeObject>();
  /** The services last processed, by key (upstream's serviceCache). */
  private readonly cache = new Map<string, KubeObject>();
  private knownHosts: string[] = [];
  private readonly nodeSync = new NodeSync();

  constructor(
    private readonly c: ControllerContext,
    private readonly balancer: LoadBalancer,
    private readonly options: ServiceControllerOptions,
  ) {
    this.services = new Informer(c.client, SERVICES, c.logger);
    this.nodes = new Informer(c.client, CORE_V1('nodes'), c.logger);
    this.recorder = eventRecorder(c.client, 'service-controller', c.logger);
  }

  async run(signal: AbortSignal): Promise<void> {
    const nodesSeen = new Map<string, KubeObject>();
    const informers = [
      this.services.run(signal, (type, svc) => this.serviceChanged(type, svc)),
      this.nodes.run(signal, (type, node) => {
        const key = objectKey(node);
        const before = nodesSeen.get(key);
        if (type === 'DELETED') nodesSeen.delete(key);
        else nodesSeen.set(key, node);
        if (type !== 'MODIFIED' || !before || nodeChangeMatters(before, node)) this.triggerNodeSync();
      }),
    ];
    if (await waitForCacheSync([this.services, this.nodes], signal)) {
      const timer = setInterval(() => this.triggerNodeSync(), this.options.nodeSyncPeriodMs);
      timer.unref();
      signal.addEventListener('abort', () => clearInterval(timer), { once: true });
      informers.push(
        this.queue.run(signal, this.options.workers, (key) => this.sync(key), this.c.logger),
        this.nodeSync.run(signal, () => this.syncNodes()),
      );
    }
    await Promise.all(informers);
  }

  /** Upstream's handlers: a service is queued when it wants a balancer, needs cleanup, or changed in a way that matters. */
  private serviceChanged(type: string, svc: KubeObject): void {
    const key = objectKey(svc);
    const before = this.seen.get(key);
    if (type === 'DELETED') {
      this.seen.delete(key);
      if (this.cache.has(key)) this.queue.add(key);
      return;
    }
    this.seen.set(key, svc);
    if (!before) {
      if (wantsLoadBalancer(svc) || needsCleanup(svc)) this.queue.add(key);
      return;
    }
    const changes = changesForLB(before, svc);
    for (const [reason, message] of changes ?? []) this.recorder.event(svc, 'Normal', reason, message, SERVICE_KIND);
    if (changes || needsCleanup(svc)) this.queue.add(key);
  }

  private usableNodes(): KubeObject[] {
    return [...this.nodes.items.values()].filter(balancerMayUse);
  }

  private async sync(key: string): Promise<void> {
    const svc = this.services.items.get(key);
    const cached = this.cache.get(key);
    if (!svc) {
      // Deleted without the finalizer (it was added after the delete, or removed by hand).
      if (cached && wantsLoadBalancer(cached))
        await this.balancer.ensureLoadBalancerDeleted(this.options.clusterName, cached);
      this.cache.delete(key);
      return;
    }
    if (cached && cached.metadata.uid !== svc.metadata.uid && wantsLoadBalancer(cached)) {
      await this.balancer.ensureLoadBalancerDeleted(this.options.clusterName, cached);
    }
    this.cache.set(key, svc);
    try {
      const deleted = await this.syncLoadBalancer(svc);
      if (deleted) this.cache.delete(key);
    } catch (err) {
      const message = `Error syncing load balancer: ${(err as Error).message}`;
      this.recorder.event(svc, 'Warning', 'SyncLoadBalancerFailed', message, SERVICE_KIND);
      throw err;
    }
  }

  /** Upstream's syncLoadBalancerIfNeeded; whether the balancer was deleted. */
  private async syncLoadBalancer(svc: KubeObject): Promise<boolean> {
    const { clusterName } = this.options;
    if (!wantsLoadBalancer(svc) || needsCleanup(svc)) {
      const { exists } = await this.balancer.getLoadBalancer(clusterName, svc);
      if (exists) {
        this.recorder.event(svc, 'Normal', 'DeletingLoadBalancer', 'Deleting load balancer', SERVICE_KIND);
        await this.balancer.ensureLoadBalancerDeleted(clusterName, svc);
      }
      await this.setFinalizer(svc, false);
      this.recorder.event(svc, 'Normal', 'DeletedLoadBalancer', 'Deleted load balancer', SERVICE_KIND);
      await this.patchStatus(svc, {});
      return true;
    }
    this.recorder.event(svc, 'Normal', 'EnsuringLoadBalancer', 'Ensuring load balancer', SERVICE_KIND);
    await this.setFinalizer(svc, true);
    const nodes = this.usableNodes();
    if (nodes.length === 0) {
      this.recorder.event(
        svc,
        'Warning',
        'UnAvailableLoadBalancer',
        'There are no available nodes for LoadBalancer',
        SERVICE_KIND,
      );
    }
    const status = await this.balancer.ensureLoadBalancer(clusterName, svc, nodes);
    this.recorder.event(svc, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer', SERVICE_KIND);
    await this.patchStatus(svc, status);
    return false;
  }

  /** Adds or removes the cleanup finalizer (a patch naming the resourceVersion read). */
  private async setFinalizer(svc: KubeObject, present: boolean): Promise<void> {
    if (hasFinalizer(svc) === present) return;
    const others = (svc.metadata.finalizers ?? []).filter((f) => f !== LB_FINALIZER);
    const finalizers = present ? [...others, LB_FINALIZER] : others;
    const { namespace = '', name = '', resourceVersion } = svc.metadata;
    await this.c.client.patch(SERVICES, namespace, name, 'merge', { metadata: { finalizers, resourceVersion } });
  }

  private async patchStatus(svc: KubeObject, status: LoadBalancerStatus): Promise<void> {
    if (JSON.stringify(statusOf(svc)) === JSON.stringify(status)) return;
    const { namespace = '', name = '' } = svc.metadata;
    try {
      // A merge patch cannot remove list items one by one: the whole loadBalancer is replaced.
      await this.c.client.patch(
        SERVICES,
        namespace,
        name,
        'merge',
        { status: { loadBalancer: { ingress: status.ingress ?? null } } },
        {
          subresource: 'status',
        },
      );
    } catch (err) {
      // Gone right after its finalizer was removed: nothing to write.
      if (!isStatusError(err) || err.code !== 404) throw err;
    }
  }

  /** Upstream's triggerNodeSync: a full sync when the usable nodes changed, else a retry of failed ones. */
  private triggerNodeSync(): void {
    const hosts = this.usableNodes()
      .map((n) => n.metadata.name ?? '')
      .sort();
    if (hosts.join() !== this.knownHosts.join()) {
      this.knownHosts = hosts;
      this.nodeSync.full = true;
    }
    this.nodeSync.trigger();
  }

  /** Upstream's nodeSyncInternal and updateLoadBalancerHosts. */
  private async syncNodes(): Promise<void> {
    const keys = this.nodeSync.full ? [...this.cache.keys()] : [...this.nodeSync.failed];
    this.nodeSync.full = false;
    this.nodeSync.failed.clear();
    const hosts = this.usableNodes();
    for (const key of keys) {
      const svc = this.cache.get(key);
      if (!svc || !wantsLoadBalancer(svc)) continue;
      if (!(await this.updateHosts(svc, hosts))) this.nodeSync.failed.add(key);
    }
  }

  private async updateHosts(svc: KubeObject, hosts: KubeObject[]): Promise<boolean> {
    const { clusterName } = this.options;
    try {
      await this.balancer.updateLoadBalancer(clusterName, svc, hosts);
      if (hosts.length === 0) {
        this.recorder.event(
          svc,
          'Warning',
          'UnAvailableLoadBalancer',
          'There are no available nodes for LoadBalancer',
          SERVICE_KIND,
        );
      } else
        this.recorder.event(svc, 'Normal', 'UpdatedLoadBalancer', 'Updated load balancer with new hosts', SERVICE_KIND);
      return true;
    } catch (err) {
      // Only an error while the balancer still exists.
      if (!(await this.balancer.getLoadBalancer(clusterName, svc).catch(() => ({ exists: true }))).exists) return true;
      const names = hosts.map((h) => h.metadata.name).join(' ');
      const message = `Error updating load balancer with new hosts [${names}]: ${(err as Error).message}`;
      this.recorder.event(svc, 'Warning', 'UpdateLoadBalancerFailed', message, SERVICE_KIND);
      return false;
    }
  }
}

/** One node sync at a time; a trigger while one runs makes one more run after it. */
class NodeSync {
  full = false;
  readonly failed = new Set<string>();
  private pending = false;
  private wake?: () => void;

  trigger(): void {
    this.pending = true;
    this.wake?.();
  }

  async run(signal: AbortSignal, sync: () => Promise<void>): Promise<void> {
    const stop = () => this.wake?.();
    signal.addEventListener('abort', stop, { once: true });
    while (!signal.aborted) {
      if (!this.pending) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      this.pending = false;
      await sync().catch(() => {});
    }
  }
}
