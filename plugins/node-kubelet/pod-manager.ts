/**
 * The pod manager: the seed's three pod sources merged into one set of pods this node must run
 * (the API's pods bound to it, and static pods from the manifest directory and URL), each handed
 * to its pod worker; new pods pass the kubelet's admission first. Mirror pods (the API's copies of
 * static pods) are kept apart: the manager creates one for each static pod, re-creates it when it
 * is deleted or stale, and deletes it when its static pod goes.
 */
import type { Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import { isStatusError, type KubeObject } from 'skiff/sdk';
import { CORE_V1 } from 'skiff/sdk/client';
import { admitPod, type NodeResources } from './admission.js';
import type { KubeletContext } from './context.js';
import { podTarget } from './events.js';
import { asObject, asPod, isTerminalPhase, podUid } from './pod-state.js';
import { PodWorker, type WorkerHost } from './pod-workers.js';
import type { ProbeManager } from './probes/prober.js';
import { fullName, isMirrorPod, isStaticPod, mirrorMatches, mirrorOf, type SourceName } from './sources/static-pods.js';
import { StatusManager, type StatusTarget, targetOf } from './status-manager.js';
import type { TokenCache } from './volumes.js';

const PODS = CORE_V1('pods');

export interface PodManagerDeps {
  ctx: KubeletContext;
  probes: ProbeManager;
  tokens: TokenCache;
  logger: Logger;
  resources(): NodeResources;
}

export class PodManager implements WorkerHost {
  readonly ctx: KubeletContext;
  readonly probes: ProbeManager;
  readonly tokens: TokenCache;
  readonly logger: Logger;
  readonly status: StatusManager;
  private readonly workers = new Map<string, PodWorker>();
  private readonly apiPods = new Map<string, Pod>();
  private readonly staticPods = new Map<SourceName, Map<string, Pod>>();
  private readonly mirrors = new Map<string, KubeObject>();
  private readonly rejected = new Set<string>();
  /** Pods the runtime already ran when the kubelet started: taken back without admission. */
  private adopted = new Set<string>();
  private shutdownCap?: number;

  constructor(private readonly deps: PodManagerDeps) {
    this.ctx = deps.ctx;
    this.probes = deps.probes;
    this.tokens = deps.tokens;
    this.logger = deps.logger;
    this.status = new StatusManager(deps.ctx);
  }

  adopt(uids: Iterable<string>): void {
    this.adopted = new Set(uids);
  }

  // --- the sources --------------------------------------------------------------------------

  /** A change the API watch (pods with spec.nodeName = this node) reports. */
  onApiPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    const pod = asPod(obj);
    const uid = podUid(pod);
    if (isMirrorPod(pod)) {
      if (type === 'DELETED') this.mirrors.delete(fullName(pod));
      else this.mirrors.set(fullName(pod), obj);
      const owner = this.staticByName(fullName(pod));
      if (owner) this.workers.get(podUid(owner))?.kick();
      return;
    }
    if (type === 'DELETED') {
      this.apiPods.delete(uid);
      this.rejected.delete(uid);
      this.workers.get(uid)?.remove(pod);
      return;
    }
    this.apiPods.set(uid, pod);
    this.desire(pod);
  }

  /** The whole set a static source holds now. */
  setStatic(source: SourceName, pods: Pod[]): void {
    const before = this.staticPods.get(source) ?? new Map<string, Pod>();
    const now = new Map<string, Pod>();
    for (const pod of pods) now.set(podUid(pod), before.get(podUid(pod)) ?? pod);
    this.staticPods.set(source, now);
    for (const [uid, pod] of before) if (!now.has(uid)) this.workers.get(uid)?.remove(pod);
    for (const pod of now.values()) if (!before.has(podUid(pod))) this.desire(pod);
  }

  private staticByName(name: string): Pod | undefined {
    for (const pods of this.staticPods.values())
      for (const pod of pods.values()) if (fullName(pod) === name) return pod;
    return undefined;
  }

  /** A pod to run (or keep running): admitted first when new. */
  private desire(pod: Pod): void {
    const uid = podUid(pod);
    const worker = this.workers.get(uid);
    if (worker) {
      worker.update(pod);
      return;
    }
    if (this.rejected.has(uid)) return;
    // A pod that ended is not run again (its containers stay until it is deleted).
    if (isTerminalPhase(pod.status?.phase) && !pod.metadata?.deletionTimestamp) return;
    if (!this.adopted.has(uid) && !pod.metadata?.deletionTimestamp) {
      const running = [...this.workers.values()].filter((w) => !w.terminating && !w.memo.finished).map((w) => w.pod);
      const labels = (this.ctx.node()?.metadata.labels ?? {}) as Record<string, string>;
      const rejection = admitPod(pod, running, this.deps.resources(), labels);
      if (rejection) return void this.reject(pod, rejection.reason, rejection.message);
    }
    const created = new PodWorker(this, pod);
    this.workers.set(uid, created);
    created.kick();
  }

  /** Upstream's rejectPod: an event, and the pod failed with the reason. */
  private reject(pod: Pod, reason: string, message: string): void {
    this.rejected.add(podUid(pod));
    this.logger.info({ pod: fullName(pod), reason }, 'pod rejected by the kubelet');
    this.ctx.events.record(podTarget(asObject(pod)), 'Warning', reason, message);
    const status: PodStatus = { ...pod.status, phase: 'Failed', reason, message: `Pod was rejected: ${message}` };
    const target = this.statusTarget(pod);
    if (target)
      this.writeStatus(target, status).catch((err) => this.logger.warn({ err }, 'could not write a rejection'));
  }

  // --- what the workers ask -----------------------------------------------------------------

  statusTarget(pod: Pod): StatusTarget | undefined {
    if (!isStaticPod(pod)) return targetOf(pod);
    const mirror = this.mirrors.get(fullName(pod));
    return mirror && mirrorMatches(mirror, pod) ? targetOf(asPod(mirror)) : undefined;
  }

  async writeStatus(target: StatusTarget, status: PodStatus): Promise<boolean> {
    if (this.ctx.stopping.aborted) return false;
    return this.status.write(target, status);
  }

  /** Static pods: the mirror pod exists and reflects the pod (a deleted or stale one is replaced). */
  async afterSync(pod: Pod): Promise<void> {
    if (!isStaticPod(pod) || this.ctx.stopping.aborted) return;
    const node = this.ctx.node();
    if (!node?.metadata.uid) return;
    const mirror = this.mirrors.get(fullName(pod));
    if (mirror && mirrorMatches(mirror, pod)) return;
    if (mirror) await this.deleteMirror(mirror);
    try {
      const created = await this.ctx.client.create(PODS, pod.metadata?.namespace ?? 'default', mirrorOf(pod, node));
      this.mirrors.set(fullName(pod), created);
      this.workers.get(podUid(pod))?.kick();
    } catch (err) {
      if (!isStatusError(err) || err.code !== 409) throw err;
    }
  }

  private async deleteMirror(mirror: KubeObject): Promise<void> {
    this.mirrors.delete(fullName(mirror));
    await this.status.deleteFinished(targetOf(asPod(mirror)));
  }

  async finished(pod: Pod, deleteFromApi: boolean): Promise<void> {
    const uid = podUid(pod);
    this.workers.delete(uid);
    this.status.forget(uid);
    if (deleteFromApi && !isStaticPod(pod)) await this.status.deleteFinished(targetOf(pod));
    // A static pod whose manifest is gone takes its mirror with it.
    if (isStaticPod(pod) && !this.staticByName(fullName(pod))) {
      const mirror = this.mirrors.get(fullName(pod));
      if (mirror) await this.deleteMirror(mirror);
    }
    // Deleted while it was running, and back (a re-created static pod of the same content).
    const again = this.desiredByUid(uid);
    if (again && !again.metadata?.deletionTimestamp && !this.ctx.stopping.aborted) this.desire(again);
  }

  shutdownGrace(): number | undefined {
    return this.shutdownCap;
  }

  // --- for the kubelet ----------------------------------------------------------------------

  private desiredByUid(uid: string): Pod | undefined {
    if (this.apiPods.has(uid)) return this.apiPods.get(uid);
    for (const pods of this.staticPods.values()) if (pods.has(uid)) return pods.get(uid);
    return undefined;
  }

  /** Every pod this node runs or must run (API pods bound here and static pods), newest copies. */
  pods(): Pod[] {
    const all = new Map<string, Pod>(this.apiPods);
    for (const pods of this.staticPods.values()) for (const [uid, pod] of pods) all.set(uid, pod);
    for (const [uid, worker] of this.workers) all.set(uid, worker.pod);
    return [...all.values()];
  }

  /** Whether a uid is one this node knows (else its sandboxes are orphans). */
  knows(uid: string): boolean {
    return this.workers.has(uid) || this.desiredByUid(uid) !== undefined;
  }

  /** Stops a pod the runtime holds that no source names any more (deleted while the kubelet was down). */
  removeOrphan(pod: Pod): void {
    if (this.workers.has(podUid(pod))) return;
    const worker = new PodWorker(this, pod);
    this.workers.set(podUid(pod), worker);
    worker.remove();
  }

  /** Mirror pods whose static pod is gone (its manifest removed while the kubelet was down) are deleted. */
  async deleteOrphanedMirrors(): Promise<void> {
    for (const [name, mirror] of this.mirrors) if (!this.staticByName(name)) await this.deleteMirror(mirror);
  }

  kick(uid: string): void {
    this.workers.get(uid)?.kick();
  }

  kickAll(): void {
    for (const worker of this.workers.values()) worker.kick();
  }

  /** The node is going away: every pod stops within `grace` seconds; resolves when all have. */
  async shutdown(grace: number): Promise<void> {
    this.shutdownCap = grace;
    const workers = [...this.workers.values()];
    for (const w of workers) w.kick();
    await Promise.all(workers.map((w) => Promise.all([w.idle(), w.cutGraceShort(grace)])));
  }

  /** Waits for the work under way (tests, and a stop that leaves pods running). */
  async idle(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.idle()));
  }
}
