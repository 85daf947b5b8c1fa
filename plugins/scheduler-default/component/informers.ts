/**
 * What the scheduler watches and what each change does (upstream's eventhandlers.go):
 * - pods bound to a node go into the cache (confirming a pod this scheduler assumed); a bound pod
 *   deleted, or finished (Succeeded/Failed: upstream's informer filters those out), leaves it;
 * - pods not yet bound, of one of this scheduler's profiles, go into the queue;
 * - nodes go into the cache; namespaces, services, controllers and claims into the listers;
 * - every change that could make a parked pod fit is a cluster event for the queue.
 */
import type { Logger } from 'pino';
import { type ApiClient, type ChangeType, Informer, isStatusError, type KubeObject } from 'skiff/sdk';
import type { SchedulerCache } from '../cache/cache.js';
import type { ListedKind, Listers } from '../framework/handle.js';
import type { Nominator } from '../framework/nominator.js';
import type { WaitingPods } from '../framework/waiting-pods.js';
import { PodInformation } from '../model/pod-info.js';
import { nodeUpdateActions, podUpdateActions } from '../queue/events.js';
import type { SchedulingQueue } from '../queue/scheduling-queue.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

const KINDS: Record<ListedKind, { group: string; version: string; resource: string; event?: 'Namespace' | 'Service' }> =
  {
    namespaces: { group: '', version: 'v1', resource: 'namespaces', event: 'Namespace' },
    services: { group: '', version: 'v1', resource: 'services', event: 'Service' },
    replicationcontrollers: { group: '', version: 'v1', resource: 'replicationcontrollers' },
    persistentvolumeclaims: { group: '', version: 'v1', resource: 'persistentvolumeclaims' },
    replicasets: { group: 'apps', version: 'v1', resource: 'replicasets' },
    statefulsets: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  };

const isTerminal = (pod: KubeObject) => {
  const phase = obj(pod.status).phase;
  return phase === 'Succeeded' || phase === 'Failed';
};

export interface Watched {
  pods: Informer;
  nodes: Informer;
  listers: Listers;
  /** Runs every informer until `signal` aborts; resolves when they have all stopped. */
  run(signal: AbortSignal): Promise<void>;
  hasSynced(): Promise<void>;
}

interface Wiring {
  client: ApiClient;
  logger: Logger;
  cache: SchedulerCache;
  queue: SchedulingQueue;
  nominator: Nominator;
  waitingPods: WaitingPods;
  /** The profiles' scheduler names: pods naming another scheduler are left alone. */
  responsibleFor(pod: KubeObject): boolean;
}

function onPod(w: Wiring, type: ChangeType, pod: KubeObject): void {
  const uid = pod.metadata.uid ?? '';
  const nodeName = String(obj(pod.spec).nodeName ?? '');
  if (type === 'DELETED' || isTerminal(pod)) {
    w.waitingPods.rejectDeleted(uid);
    w.queue.delete(uid);
    w.nominator.remove(uid);
    const removed = w.cache.removePod(uid);
    if (removed) w.queue.onEvent({ resource: 'Pod', actions: ['Delete'] });
    return;
  }
  if (nodeName) {
    w.queue.delete(uid);
    w.nominator.remove(uid);
    const before = w.cache.podInfo(uid);
    const wasAssumed = w.cache.isAssumed(uid);
    w.cache.addOrUpdatePod(pod);
    if (!before) w.queue.onEvent({ resource: 'Pod', actions: ['Add'] });
    else if (!wasAssumed) {
      const actions = podUpdateActions(before.pod, pod);
      if (actions.length) w.queue.onEvent({ resource: 'Pod', actions });
    }
    return;
  }
  // Pending: ours to schedule, unless being deleted or already placed by us (binding in flight).
  if (!w.responsibleFor(pod) || pod.metadata.deletionTimestamp || w.cache.isAssumed(uid)) return;
  const info = new PodInformation(pod);
  w.queue.add(info);
  const nominated = String(obj(pod.status).nominatedNodeName ?? '');
  if (nominated) w.nominator.nominate(info, nominated);
  else w.nominator.remove(uid);
}

function onNode(w: Wiring, type: ChangeType, node: KubeObject): void {
  const name = node.metadata.name ?? '';
  if (type === 'DELETED') {
    w.cache.removeNode(name);
    w.queue.onEvent({ resource: 'Node', actions: ['Delete'] });
    return;
  }
  const before = w.cache.nodes.get(name);
  const old = before?.hasNode ? before.node : undefined;
  w.cache.addNode(node);
  const actions = old ? nodeUpdateActions(old, node) : ['Add'];
  if (actions.length) w.queue.onEvent({ resource: 'Node', actions });
}

class ListerSet implements Listers {
  readonly informers = new Map<ListedKind, Informer>();

  list(kind: ListedKind): readonly KubeObject[] {
    const inf = this.informers.get(kind);
    return inf ? [...inf.items.values()] : [];
  }

  get(kind: ListedKind, namespace: string, name: string): KubeObject | undefined {
    return this.informers.get(kind)?.items.get(`${namespace}/${name}`);
  }
}

/** Whether the API serves a kind (replica sets and stateful sets may not be there). */
async function served(client: ApiClient, kind: ListedKind): Promise<boolean> {
  try {
    await client.list(KINDS[kind], '', { limit: 1 });
    return true;
  } catch (err) {
    if (isStatusError(err) && err.code === 404) return false;
    return true;
  }
}

export async function watchCluster(w: Wiring): Promise<Watched> {
  const pods = new Informer(w.client, { group: '', version: 'v1', resource: 'pods' }, w.logger);
  const nodes = new Informer(w.client, { group: '', version: 'v1', resource: 'nodes' }, w.logger);
  const listers = new ListerSet();
  for (const kind of Object.keys(KINDS) as ListedKind[]) {
    if (await served(w.client, kind)) listers.informers.set(kind, new Informer(w.client, KINDS[kind], w.logger));
  }
  return {
    pods,
    nodes,
    listers,
    async run(signal) {
      const others = [...listers.informers].map(([kind, inf]) =>
        inf.run(signal, (type) => {
          const event = KINDS[kind].event;
          if (event)
            w.queue.onEvent({
              resource: event,
              actions: [type === 'ADDED' ? 'Add' : type === 'DELETED' ? 'Delete' : 'Update'],
            });
        }),
      );
      // Nodes first: pods bound to them are then placed on known nodes.
      const nodesRun = nodes.run(signal, (type, node) => onNode(w, type, node));
      await Promise.race([nodes.hasSynced(), new Promise((r) => signal.addEventListener('abort', r, { once: true }))]);
      await Promise.all([nodesRun, pods.run(signal, (type, pod) => onPod(w, type, pod)), ...others]);
    },
    async hasSynced() {
      await Promise.all([
        pods.hasSynced(),
        nodes.hasSynced(),
        ...[...listers.informers.values()].map((i) => i.hasSynced()),
      ]);
    },
  };
}
