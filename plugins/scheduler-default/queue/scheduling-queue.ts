/**
 * The scheduling queue, as upstream's PriorityQueue:
 * - activeQ: pods to schedule now, ordered by the QueueSort plugin (priority, then arrival);
 * - backoffQ: pods that failed, waiting out a backoff of 1 s doubling per attempt up to 10 s
 *   (podInitialBackoffSeconds / podMaxBackoffSeconds);
 * - unschedulable pods: parked until a cluster event one of the plugins that rejected them cares
 *   about (a node added, a pod deleted, ...) could make them fit, and for at most 5 minutes;
 *   PreEnqueue rejections (scheduling gates) stay parked until the pod itself changes.
 * A pod whose attempt overlapped an event one of its rejecting plugins cares about goes to backoffQ
 * instead of waiting for another (upstream 1.32's in-flight events, with queueing hints on).
 */
import type { PodInformation } from '../model/pod-info.js';
import { type ClusterEventOf, eventMatches, podChanged, type Registrations } from './events.js';
import { KeyedHeap } from './heap.js';

export class QueuedPodInfo {
  timestamp: number;
  attempts = 0;
  /** When it was first popped (for the scheduling latency metrics). */
  initialAttempt?: number;
  unschedulablePlugins = new Set<string>();
  pendingPlugins = new Set<string>();
  /** Parked by PreEnqueue (a scheduling gate): only a change of the pod itself lets it go. */
  gated = false;

  constructor(
    public info: PodInformation,
    now: number,
  ) {
    this.timestamp = now;
  }
}

export interface QueueOptions {
  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean;
  /** The pod's profile's PreEnqueue verdict (undefined: admitted). */
  preEnqueue(info: PodInformation): { plugin?: string } | undefined;
  registrations: Registrations;
  initialBackoffMs: number;
  maxBackoffMs: number;
  maxUnschedulableMs: number;
  now?: () => number;
}

export type Queue = 'active' | 'backoff' | 'unschedulable' | 'gated';

export class SchedulingQueue {
  private readonly active: KeyedHeap<QueuedPodInfo>;
  private readonly backoff: KeyedHeap<QueuedPodInfo>;
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  /** Pods popped and being scheduled: their attempt's cycle number. */
  private readonly inFlight = new Map<string, number>();
  private schedulingCycle = 0;
  private moveRequestCycle = -1;
  /** "resource\0action" → the scheduling cycle it last happened in (events during attempts). */
  private readonly lastEventCycle = new Map<string, number>();
  private waiter?: () => void;
  private backoffTimer?: NodeJS.Timeout;
  private leftoverTimer?: NodeJS.Timeout;
  private closed = false;
  readonly now: () => number;

  constructor(private readonly o: QueueOptions) {
    this.now = o.now ?? Date.now;
    this.active = new KeyedHeap((p) => p.info.uid, o.less);
    this.backoff = new KeyedHeap(
      (p) => p.info.uid,
      (a, b) => this.backoffExpiry(a) < this.backoffExpiry(b),
    );
  }

  /** Starts the periodic flush of pods left unschedulable for too long (upstream: every 30 s). */
  run(): void {
    this.leftoverTimer = setInterval(() => this.flushUnschedulableLeftover(), 30_000);
    this.leftoverTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.backoffTimer);
    clearInterval(this.leftoverTimer);
    this.waiter?.();
  }

  /** Upstream's backoff: initial × 2^(attempts−1), at most max; none before the first attempt. */
  backoffDuration(p: QueuedPodInfo): number {
    if (p.attempts === 0) return 0;
    let d = this.o.initialBackoffMs;
    for (let i = 1; i < p.attempts; i++) {
      if (d > this.o.maxBackoffMs - d) return this.o.maxBackoffMs;
      d += d;
    }
    return Math.min(d, this.o.maxBackoffMs);
  }

  backoffExpiry(p: QueuedPodInfo): number {
    return p.timestamp + this.backoffDuration(p);
  }

  private isBackingOff(p: QueuedPodInfo): boolean {
    return this.backoffExpiry(p) > this.now();
  }

  /** Into activeQ if PreEnqueue admits it, else parked as gated. */
  private toActive(p: QueuedPodInfo): void {
    const rejected = this.o.preEnqueue(p.info);
    if (rejected) {
      p.gated = true;
      p.pendingPlugins = new Set(rejected.plugin ? [rejected.plugin] : []);
      this.unschedulable.set(p.info.uid, p);
      return;
    }
    p.gated = false;
    this.unschedulable.delete(p.info.uid);
    this.backoff.delete(p.info.uid);
    this.active.push(p);
    this.wake();
  }

  private toBackoff(p: QueuedPodInfo): void {
    this.unschedulable.delete(p.info.uid);
    this.backoff.push(p);
    this.armBackoffTimer();
  }

  /** A new pending pod of one of this scheduler's profiles. */
  add(info: PodInformation): void {
    if (this.has(info.uid)) this.update(info);
    else this.toActive(new QueuedPodInfo(info, this.now()));
  }

  has(uid: string): boolean {
    return this.active.has(uid) || this.backoff.has(uid) || this.unschedulable.has(uid) || this.inFlight.has(uid);
  }

  /** The pending pod changed: a parked pod that changed (not just its status) may fit now, so it is moved. */
  update(info: PodInformation): void {
    const uid = info.uid;
    const queued = this.active.get(uid) ?? this.backoff.get(uid);
    if (queued) {
      queued.info = info;
      if (this.active.has(uid)) this.active.push(queued);
      else this.backoff.push(queued);
      return;
    }
    const parked = this.unschedulable.get(uid);
    if (!parked) return;
    const changed = podChanged(parked.info.pod, info.pod);
    parked.info = info;
    if (!changed) return;
    if (parked.gated) this.toActive(parked);
    else if (this.isBackingOff(parked)) this.toBackoff(parked);
    else this.toActive(parked);
  }

  delete(uid: string): void {
    this.active.delete(uid);
    this.backoff.delete(uid);
    this.unschedulable.delete(uid);
  }

  /** The next pod to schedule; waits while there is none (undefined once closed or `signal` aborts). */
  async pop(signal?: AbortSignal): Promise<QueuedPodInfo | undefined> {
    while (this.active.size === 0 && !this.closed && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.waiter = done;
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    if (this.closed || signal?.aborted) return undefined;
    const p = this.active.pop()!;
    p.attempts++;
    p.initialAttempt ??= this.now();
    this.schedulingCycle++;
    this.inFlight.set(p.info.uid, this.schedulingCycle);
    return p;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The attempt is over (bound, or requeued below). */
  done(uid: string): void {
    this.inFlight.delete(uid);
  }

  /**
   * After a failed attempt: to backoffQ when an event came during the attempt (it may fit now)
   * or when no plugin rejected it (an error); else parked until an event it waits for.
   */
  requeueFailed(p: QueuedPodInfo, deleted: boolean): void {
    const cycle = this.inFlight.get(p.info.uid) ?? this.schedulingCycle;
    this.inFlight.delete(p.info.uid);
    if (deleted || this.closed) return;
    p.timestamp = this.now();
    const noPlugins = p.unschedulablePlugins.size === 0 && p.pendingPlugins.size === 0;
    if (noPlugins || this.relevantEventSince(cycle, p)) this.toBackoff(p);
    else this.unschedulable.set(p.info.uid, p);
  }

  /** Whether, since `cycle`, an event happened that one of the plugins that rejected `p` registered. */
  private relevantEventSince(cycle: number, p: QueuedPodInfo): boolean {
    if (this.moveRequestCycle < cycle) return false;
    for (const [key, at] of this.lastEventCycle) {
      if (at < cycle) continue;
      const [resource, action] = key.split('\0') as [ClusterEventOf['resource'], string];
      const event = { resource, actions: [action] };
      if (eventMatches(this.o.registrations, p.unschedulablePlugins, p.pendingPlugins, event)) return true;
    }
    return false;
  }

  /** A cluster event: parked pods one of whose rejecting plugins cares about it are moved (but `except`). */
  onEvent(event: ClusterEventOf, except?: string): void {
    this.moveRequestCycle = this.schedulingCycle;
    for (const action of event.actions) this.lastEventCycle.set(`${event.resource}\0${action}`, this.schedulingCycle);
    for (const p of [...this.unschedulable.values()]) {
      if (p.gated || p.info.uid === except) continue;
      if (!eventMatches(this.o.registrations, p.unschedulablePlugins, p.pendingPlugins, event)) continue;
      if (this.isBackingOff(p)) this.toBackoff(p);
      else this.toActive(p);
    }
  }

  private armBackoffTimer(): void {
    const next = this.backoff.peek();
    clearTimeout(this.backoffTimer);
    if (!next || this.closed) return;
    this.backoffTimer = setTimeout(
      () => this.flushBackoffCompleted(),
      Math.max(0, this.backoffExpiry(next) - this.now()),
    );
    this.backoffTimer.unref();
  }

  flushBackoffCompleted(): void {
    const now = this.now();
    for (let p = this.backoff.peek(); p && this.backoffExpiry(p) <= now; p = this.backoff.peek()) {
      this.backoff.pop();
      this.toActive(p);
    }
    this.armBackoffTimer();
  }

  /** Pods parked longer than maxUnschedulableMs are tried again (upstream: 5 minutes). */
  flushUnschedulableLeftover(): void {
    const now = this.now();
    for (const p of [...this.unschedulable.values()]) {
      if (p.gated || now - p.timestamp < this.o.maxUnschedulableMs) continue;
      if (this.isBackingOff(p)) this.toBackoff(p);
      else this.toActive(p);
    }
  }

  /** How many pods each queue holds (scheduler_pending_pods). */
  pending(): Record<Queue, number> {
    let gated = 0;
    for (const p of this.unschedulable.values()) if (p.gated) gated++;
    return {
      active: this.active.size,
      backoff: this.backoff.size,
      unschedulable: this.unschedulable.size - gated,
      gated,
    };
  }

  /** Where a pod is, for tests and `simulate`. */
  whereIs(uid: string): Queue | 'inFlight' | undefined {
    if (this.active.has(uid)) return 'active';
    if (this.backoff.has(uid)) return 'backoff';
    const parked = this.unschedulable.get(uid);
    if (parked) return parked.gated ? 'gated' : 'unschedulable';
    return this.inFlight.has(uid) ? 'inFlight' : undefined;
  }
}
