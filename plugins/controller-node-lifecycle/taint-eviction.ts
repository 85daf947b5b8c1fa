/**
 * Upstream's taint eviction controller (pkg/controller/tainteviction, the NoExecute taint
 * manager): a pod on a node with NoExecute taints is deleted at once when it does not tolerate
 * them all, after the shortest tolerationSeconds of the tolerations it uses when it does, and never
 * when those tolerate forever. A pending eviction is cancelled when the taints go, the pod's
 * tolerations change to tolerate them forever, or the pod goes. Before the delete the pod gets
 * the DisruptionTarget condition (reason DeletionByTaintManager).
 */
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { CORE_V1, type ControllerContext, delay, Informer, isStatusError, type KubeObject, objectKey } from 'skiff/sdk';
import { type EventRecorder, eventRecorder, waitForCacheSync } from 'skiff/sdk/controller';
import { taintsOf } from './nodes.js';
import { markAndDelete } from './pod-status.js';
import { nodeNameOf, PodsByNode } from './pods-by-node.js';
import { matchingTolerations, minTolerationMs } from './tolerations.js';

const RETRIES = 5;

interface Eviction {
  createdAt: number;
  /** Unset once the eviction ran: the pod is not scheduled again (upstream keeps the key, nil). */
  timer?: NodeJS.Timeout;
}

const noExecute = (node: KubeObject) => taintsOf(node).filter((t) => t.effect === 'NoExecute');
const tolerationsOf = (pod: KubeObject) =>
  ((pod.spec as { tolerations?: Toleration[] } | undefined)?.tolerations ?? []) as Toleration[];

export class TaintEvictionController {
  private readonly nodes: Informer;
  private readonly pods: Informer;
  private readonly podsByNode = new PodsByNode();
  private readonly tainted = new Map<string, Taint[]>();
  private readonly podSeen = new Map<string, string>();
  private readonly evictions = new Map<string, Eviction>();
  private readonly recorder: EventRecorder;
  private signal?: AbortSignal;

  constructor(private readonly c: ControllerContext) {
    this.nodes = new Informer(c.client, CORE_V1('nodes'), c.logger);
    this.pods = new Informer(c.client, CORE_V1('pods'), c.logger);
    this.recorder = eventRecorder(c.client, 'taint-eviction-controller', c.logger);
  }

  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    let synced = false;
    const informers = [
      this.pods.run(signal, (type, pod) => {
        this.podsByNode.changed(type, pod);
        if (synced) this.podChanged(type, pod);
      }),
      this.nodes.run(signal, (type, node) => synced && this.nodeChanged(type, node)),
    ];
    if (await waitForCacheSync([this.nodes, this.pods], signal)) {
      synced = true;
      for (const node of this.nodes.items.values()) this.nodeChanged('ADDED', node);
    }
    await Promise.all(informers);
    for (const e of this.evictions.values()) clearTimeout(e.timer);
  }

  private podChanged(type: string, pod: KubeObject): void {
    const key = objectKey(pod);
    if (type === 'DELETED') {
      this.podSeen.delete(key);
      this.cancel(key, pod);
      return;
    }
    const seen = JSON.stringify([nodeNameOf(pod), tolerationsOf(pod)]);
    if (this.podSeen.get(key) === seen) return;
    this.podSeen.set(key, seen);
    const taints = this.tainted.get(nodeNameOf(pod));
    if (taints) this.processPod(pod, taints, Date.now());
  }

  private nodeChanged(type: string, node: KubeObject): void {
    const name = node.metadata.name ?? '';
    const taints = type === 'DELETED' ? [] : noExecute(node);
    const before = this.tainted.get(name) ?? [];
    if (type !== 'ADDED' && JSON.stringify(before) === JSON.stringify(taints)) return;
    if (taints.length) this.tainted.set(name, taints);
    else this.tainted.delete(name);
    if (type === 'DELETED') return;
    const pods = this.podsByNode.on(name);
    const now = Date.now();
    for (const pod of pods) {
      if (taints.length === 0) this.cancel(objectKey(pod), pod);
      else this.processPod(pod, taints, now);
    }
  }

  /** Upstream's processPodOnNode. */
  private processPod(pod: KubeObject, taints: Taint[], now: number): void {
    const key = objectKey(pod);
    const [all, used] = matchingTolerations(taints, tolerationsOf(pod));
    if (!all) {
      this.cancel(key, pod);
      this.schedule(key, pod, now, now);
      return;
    }
    const wait = minTolerationMs(used);
    if (wait < 0) {
      this.cancel(key, pod);
      return;
    }
    let start = now;
    const scheduled = this.evictions.get(key);
    if (scheduled?.timer) {
      start = scheduled.createdAt;
      if (start + wait < now + wait) return;
      this.cancel(key, pod);
    }
    this.schedule(key, pod, start, now + wait);
  }

  private schedule(key: string, pod: KubeObject, createdAt: number, fireAt: number): void {
    if (this.evictions.has(key)) return;
    const eviction: Eviction = { createdAt };
    eviction.timer = setTimeout(() => void this.evict(key, pod, eviction), Math.max(0, fireAt - Date.now()));
    eviction.timer.unref();
    this.evictions.set(key, eviction);
  }

  /** Cancels a pending eviction (with upstream's event); forgets one that already ran. */
  private cancel(key: string, pod: KubeObject): void {
    const eviction = this.evictions.get(key);
    if (!eviction) return;
    this.evictions.delete(key);
    if (!eviction.timer) return;
    clearTimeout(eviction.timer);
    this.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`, {
      apiVersion: 'v1',
      kind: 'Pod',
    });
  }

  private async evict(key: string, pod: KubeObject, eviction: Eviction): Promise<void> {
    eviction.timer = undefined;
    this.c.logger.info({ pod: key }, 'deleting pod: NoExecute taint not tolerated (long enough)');
    this.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`, {
      apiVersion: 'v1',
      kind: 'Pod',
    });
    const condition = {
      type: 'DisruptionTarget',
      status: 'True',
      reason: 'DeletionByTaintManager',
      message: 'Taint manager: deleting due to NoExecute taint',
    };
    for (let attempt = 0; attempt < RETRIES && !this.signal?.aborted; attempt++) {
      try {
        const fresh = await this.c.client.get(CORE_V1('pods'), pod.metadata.namespace ?? '', pod.metadata.name ?? '');
        await markAndDelete(this.c.client, fresh, condition);
        return;
      } catch (err) {
        if (isStatusError(err) && err.code === 404) return;
        if (attempt === RETRIES - 1) {
          this.c.logger.warn({ err, pod: key }, 'could not evict the pod');
          this.evictions.delete(key);
        }
        await delay(10, this.signal);
      }
    }
  }
}
