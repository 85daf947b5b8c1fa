/**
 * The scheduler: pods come off the queue one at a time; each gets a scheduling cycle (the
 * algorithm, then assume → Reserve → Permit, all without yielding) and, once placed, a binding
 * cycle that runs in the background (PreBind → Bind → PostBind) while the next pod is scheduled.
 * A failure anywhere puts the pod back in the queue with the reason recorded: the
 * FailedScheduling event and the PodScheduled=False condition, as upstream's handleSchedulingFailure.
 */
import type { Logger } from 'pino';
import { type ApiClient, isStatusError, type KubeObject } from 'skiff/sdk';
import { Code, isRejection, type Status, status } from 'skiff/sdk/scheduler';
import type { SchedulerCache } from '../cache/cache.js';
import { SchedulingCycleState } from '../framework/cycle-state.js';
import { FitError, fitMessage } from '../framework/diagnosis.js';
import type { Framework } from '../framework/framework.js';
import type { Nominator } from '../framework/nominator.js';
import type { WaitingPodEntry, WaitingPods } from '../framework/waiting-pods.js';
import { PodInformation } from '../model/pod-info.js';
import type { QueuedPodInfo, SchedulingQueue } from '../queue/scheduling-queue.js';
import { type AlgorithmContext, NO_NODES_AVAILABLE, schedulePod } from './algorithm.js';
import type { EventRecorder } from './events.js';
import type { SchedulerMetrics } from './metrics.js';
import { patchScheduledCondition } from './pod-status.js';

/** Yield to the event loop at least this often, so watch events and bindings are taken in. */
const YIELD_EVERY_MS = 10;

export interface SchedulerParts {
  cache: SchedulerCache;
  queue: SchedulingQueue;
  frameworks: Map<string, Framework>;
  nominator: Nominator;
  /** Pods held at Permit, shared with the plugins (handle.waitingPod). */
  waitingPods: WaitingPods;
  events: EventRecorder;
  metrics: SchedulerMetrics;
  client?: ApiClient;
  logger: Logger;
  percentageOfNodesToScore: number;
  /** The pod as the informer has it now (undefined: deleted). */
  currentPod(namespace: string, name: string): KubeObject | undefined;
}

/** The outcome of a failed attempt, for the failure handler. */
interface Failure {
  status: Status;
  error?: Error;
  nominatedNodeName?: string;
}

export class Scheduler {
  readonly ctx: AlgorithmContext;
  /** Bindings in flight, so shutdown can wait for them. */
  private readonly binding = new Set<Promise<void>>();

  constructor(readonly parts: SchedulerParts) {
    this.ctx = { cache: parts.cache, percentageOfNodesToScore: parts.percentageOfNodesToScore, nextStart: 0 };
  }

  /** Schedules pods until `signal` aborts, then waits for the bindings in flight. */
  async run(signal: AbortSignal): Promise<void> {
    let lastYield = performance.now();
    while (!signal.aborted) {
      const qpi = await this.parts.queue.pop(signal);
      if (!qpi) break;
      const pending = this.scheduleOne(qpi);
      if (pending) await pending;
      if (performance.now() - lastYield > YIELD_EVERY_MS) {
        await new Promise((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
    // Nothing will allow the pods held at Permit now: they go back to the queue.
    for (const held of this.parts.waitingPods.list()) held.reject('', 'the scheduler stopped scheduling');
    await Promise.all([...this.binding]);
  }

  /** One pod's scheduling cycle; a promise only when the failure path needs I/O (preemption). */
  scheduleOne(qpi: QueuedPodInfo): Promise<void> | undefined {
    const pod = qpi.info;
    const fwk = this.parts.frameworks.get(String(pod.spec.schedulerName ?? ''));
    if (!fwk || pod.terminating || this.parts.cache.has(pod.uid)) {
      this.parts.queue.done(pod.uid);
      return undefined;
    }
    const start = performance.now();
    const state = new SchedulingCycleState();
    let node: string;
    try {
      node = schedulePod(this.ctx, fwk, state, pod).node;
    } catch (err) {
      return this.afterAlgorithmFailure(fwk, state, qpi, err as Error, start);
    }
    const assumed = pod.assumedOn(node);
    this.parts.cache.assume(assumed);
    this.parts.nominator.remove(pod.uid);
    const reserved = fwk.runReserve(state, assumed, node);
    const permit = reserved ? undefined : fwk.runPermit(state, assumed, node);
    const refused = reserved ?? permit?.status;
    if (refused) {
      if (!reserved) fwk.runUnreserve(state, assumed, node);
      this.parts.cache.forget(pod.uid);
      return this.handleFailure(fwk, qpi, { status: refused }, start);
    }
    const held = permit?.waits.size ? this.parts.waitingPods.hold(assumed, node, permit.waits) : undefined;
    const binding = this.bindingCycle(fwk, state, qpi, assumed, node, start, held);
    this.binding.add(binding);
    void binding.finally(() => this.binding.delete(binding));
    return undefined;
  }

  /** No node fits (PostFilter may preempt), or the algorithm failed. */
  private async afterAlgorithmFailure(
    fwk: Framework,
    state: SchedulingCycleState,
    qpi: QueuedPodInfo,
    err: Error,
    start: number,
  ): Promise<void> {
    if (err.message === NO_NODES_AVAILABLE) {
      return this.handleFailure(
        fwk,
        qpi,
        { status: status(Code.UnschedulableAndUnresolvable, err.message), nominatedNodeName: '' },
        start,
      );
    }
    if (!(err instanceof FitError)) {
      this.parts.logger.error({ err, pod: qpi.info.key }, 'error selecting a node for the pod');
      return this.handleFailure(
        fwk,
        qpi,
        { status: status(Code.Error, err.message), error: err, nominatedNodeName: '' },
        start,
      );
    }
    qpi.unschedulablePlugins = err.diagnosis.unschedulablePlugins;
    qpi.pendingPlugins = err.diagnosis.pendingPlugins;
    let nominatedNodeName: string | undefined;
    if (fwk.hasPostFilterPlugins) {
      this.parts.metrics.preemptionAttempts.inc();
      const statuses = this.allStatuses(err);
      const r = await fwk.runPostFilter(state, qpi.info, statuses);
      if (r.status && r.status.code !== Code.Success) err.diagnosis.postFilterMsg = r.status.reasons.join(', ');
      nominatedNodeName = r.nominatedNodeName;
    }
    return this.handleFailure(
      fwk,
      qpi,
      { status: status(Code.Unschedulable, err.message), error: err, nominatedNodeName },
      start,
    );
  }

  /** Every node's Filter verdict, the PreFilter verdict standing in for nodes never filtered. */
  private allStatuses(err: FitError): Map<string, Status> {
    const m = new Map(err.diagnosis.nodeToStatus.explicit);
    const absent = err.diagnosis.nodeToStatus.absent;
    if (absent) for (const n of this.parts.cache.nodeList()) if (!m.has(n.name)) m.set(n.name, absent);
    return m;
  }

  private async bindingCycle(
    fwk: Framework,
    state: SchedulingCycleState,
    qpi: QueuedPodInfo,
    assumed: PodInformation,
    node: string,
    start: number,
    held: WaitingPodEntry | undefined,
  ): Promise<void> {
    let failure: Status | undefined;
    try {
      if (held) failure = await this.parts.waitingPods.settled(held);
      failure ??= (await fwk.runPreBind(state, assumed, node)) ?? (await fwk.runBind(state, assumed, node));
    } catch (err) {
      if (this.alreadyBound(err, qpi)) return this.forgetBound(fwk, state, assumed, node);
      failure = status(Code.Error, (err as Error).message);
    }
    if (failure) {
      fwk.runUnreserve(state, assumed, node);
      this.parts.cache.forget(assumed.uid);
      await this.handleFailure(fwk, qpi, { status: failure, nominatedNodeName: '' }, start);
      // Its room is free again: pods parked meanwhile may fit now (upstream's AssignedPodDelete), not itself.
      this.parts.queue.onEvent({ resource: 'Pod', actions: ['Delete'] }, assumed.uid);
      return;
    }
    this.parts.queue.done(assumed.uid);
    this.parts.metrics.attempt('scheduled', fwk.schedulerName, (performance.now() - start) / 1000);
    this.parts.events.record(
      assumed.pod,
      'Normal',
      'Scheduled',
      'Binding',
      `Successfully assigned ${assumed.namespace}/${assumed.name} to ${node}`,
    );
    fwk.runPostBind(state, assumed, node);
  }

  /** A 409 from pods/binding: the pod was bound meanwhile (another scheduler, an earlier try) or is going. */
  private alreadyBound(err: unknown, qpi: QueuedPodInfo): boolean {
    if (!isStatusError(err) || err.code !== 409) return false;
    const current = this.parts.currentPod(qpi.info.namespace, qpi.info.name);
    const msg = err.message;
    return (
      msg.includes('is already assigned') ||
      msg.includes('is being deleted') ||
      msg.includes('UID in precondition') ||
      !current
    );
  }

  private forgetBound(fwk: Framework, state: SchedulingCycleState, assumed: PodInformation, node: string): void {
    this.parts.logger.info({ pod: assumed.key, node }, 'the pod was bound or deleted meanwhile; not binding it again');
    fwk.runUnreserve(state, assumed, node);
    this.parts.cache.forget(assumed.uid);
    this.parts.queue.done(assumed.uid);
  }

  /** Upstream's handleSchedulingFailure: requeue, nominate, event, PodScheduled=False. */
  private async handleFailure(fwk: Framework, qpi: QueuedPodInfo, f: Failure, start: number): Promise<void> {
    const rejected = isRejection(f.status) && f.status.code !== Code.Error;
    const result = rejected ? 'unschedulable' : 'error';
    this.parts.metrics.attempt(result, fwk.schedulerName, (performance.now() - start) / 1000);
    const message =
      f.error instanceof FitError ? fitMessage(f.error.numAllNodes, f.error.diagnosis) : f.status.reasons.join(', ');
    const current = this.parts.currentPod(qpi.info.namespace, qpi.info.name);
    const gone = !current || current.metadata.uid !== qpi.info.uid;
    const bound = !gone && Boolean((current.spec as { nodeName?: string } | undefined)?.nodeName);
    if (!gone && !bound) qpi.info = new PodInformation(current);
    this.parts.queue.requeueFailed(qpi, gone || bound);
    if (gone || bound) return;
    if (f.nominatedNodeName !== undefined) this.parts.nominator.nominate(qpi.info, f.nominatedNodeName);
    this.parts.logger.debug({ pod: qpi.info.key, message }, 'unable to schedule pod');
    this.parts.events.record(qpi.info.pod, 'Warning', 'FailedScheduling', 'Scheduling', message);
    const reason = rejected ? 'Unschedulable' : 'SchedulerError';
    if (this.parts.client) {
      await patchScheduledCondition(this.parts.client, qpi.info.pod, reason, message, f.nominatedNodeName).catch(
        (err: unknown) => this.parts.logger.debug({ err, pod: qpi.info.key }, 'could not update the pod status'),
      );
    }
  }

  /** Waits for the bindings in flight (shutdown, tests). */
  async drain(): Promise<void> {
    await Promise.all([...this.binding]);
  }
}
