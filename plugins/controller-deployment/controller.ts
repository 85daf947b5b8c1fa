/**
 * Upstream's DeploymentController (pkg/controller/deployment): informers on Deployments,
 * ReplicaSets and pods feed a work queue of Deployment keys, --concurrent-deployment-syncs workers
 * sync them. A ReplicaSet's change wakes the Deployment that controls it (an orphan: every
 * Deployment whose selector matches it); a pod's deletion wakes a Recreate Deployment waiting for
 * its old pods to be gone. See sync.ts for what one sync does.
 */
import { type ChangeType, CORE_V1, type ControllerContext, Informer, type KubeObject } from 'skiff/sdk';
import {
  ControllerQueue,
  controllerRefOf,
  eventRecorder,
  isPodActive,
  type LabelSelectorObject,
  labelSelectorFromObject,
  matchesLabels,
} from 'skiff/sdk/controller';
import { keyOf, type SyncContext } from './context.js';
import { type DeploymentSources, syncDeployment } from './sync.js';
import { DEPLOYMENTS, type Deployment, REPLICA_SETS, type ReplicaSet } from './types.js';

export class DeploymentController {
  private readonly deployments: Informer;
  private readonly replicaSets: Informer;
  private readonly pods: Informer;
  private readonly queue = new ControllerQueue();
  private readonly ctx: SyncContext;
  private readonly sources: DeploymentSources;

  constructor(
    private readonly c: ControllerContext,
    private readonly workers: number,
  ) {
    this.deployments = new Informer(c.client, DEPLOYMENTS, c.logger);
    this.replicaSets = new Informer(c.client, REPLICA_SETS, c.logger);
    this.pods = new Informer(c.client, CORE_V1('pods'), c.logger);
    this.ctx = {
      client: c.client,
      events: eventRecorder(c.client, 'deployment-controller', c.logger),
      logger: c.logger,
      queue: this.queue,
      podsIn: (namespace) => this.inNamespace(this.pods, namespace).filter(isPodActive),
    };
    this.sources = {
      deployment: (key) => this.deployments.items.get(key) as Deployment | undefined,
      replicaSetsIn: (namespace) => this.inNamespace(this.replicaSets, namespace) as ReplicaSet[],
    };
  }

  async run(signal: AbortSignal): Promise<void> {
    const watching = [
      this.deployments.run(signal, (_type, d) => this.queue.add(keyOf(d))),
      this.replicaSets.run(signal, (type, rs) => this.onReplicaSet(type, rs)),
      this.pods.run(signal, (type, pod) => this.onPod(type, pod)),
    ];
    await untilSynced(signal, [this.deployments, this.replicaSets, this.pods]);
    const working = signal.aborted
      ? Promise.resolve()
      : this.queue.run(signal, this.workers, (key) => syncDeployment(this.ctx, this.sources, key), this.c.logger);
    await Promise.all([...watching, working]);
  }

  private inNamespace(informer: Informer, namespace: string): KubeObject[] {
    const prefix = `${namespace}/`;
    const out: KubeObject[] = [];
    for (const [key, obj] of informer.items) if (key.startsWith(prefix)) out.push(obj);
    return out;
  }

  /** The Deployment a controller reference names, if it exists with that uid. */
  private resolve(namespace: string, obj: KubeObject): string | undefined {
    const ref = controllerRefOf(obj);
    if (ref?.kind !== 'Deployment') return undefined;
    const key = `${namespace}/${ref.name}`;
    return this.deployments.items.get(key)?.metadata.uid === ref.uid ? key : undefined;
  }

  private onReplicaSet(type: ChangeType, rs: KubeObject): void {
    const namespace = rs.metadata.namespace ?? '';
    const owner = this.resolve(namespace, rs);
    if (owner) {
      this.queue.add(owner);
      return;
    }
    if (type === 'DELETED' || controllerRefOf(rs)) return;
    // An orphan: every Deployment that could adopt it.
    for (const d of this.inNamespace(this.deployments, namespace) as Deployment[]) {
      try {
        const selector = labelSelectorFromObject(d.spec?.selector as LabelSelectorObject);
        if (selector.length && matchesLabels(selector, rs.metadata.labels)) this.queue.add(keyOf(d));
      } catch {
        // A selector that does not parse selects nothing.
      }
    }
  }

  private onPod(type: ChangeType, pod: KubeObject): void {
    if (type !== 'DELETED') return;
    const namespace = pod.metadata.namespace ?? '';
    const rsRef = controllerRefOf(pod);
    if (rsRef?.kind !== 'ReplicaSet') return;
    const rs = this.replicaSets.items.get(`${namespace}/${rsRef.name}`);
    const owner = rs && this.resolve(namespace, rs);
    if (!owner) return;
    const d = this.deployments.items.get(owner) as Deployment | undefined;
    if (d?.spec?.strategy?.type === 'Recreate') this.queue.add(owner);
  }
}

function untilSynced(signal: AbortSignal, informers: Informer[]): Promise<void> {
  return new Promise((resolve) => {
    signal.addEventListener('abort', () => resolve(), { once: true });
    void Promise.all(informers.map((i) => i.hasSynced())).then(() => resolve());
  });
}
