/**
 * Pod workers: one per pod, so a pod's syncs never overlap and one slow pod never holds up
 * another (upstream's podWorkers). A worker syncs its pod whenever something changes (the
 * manifest, a container's state, a probe result, a back-off that ends, and every syncFrequency)
 * and writes its status; once the pod is deleted or gone from its source, it stops it for good:
 * containers (preStop, SIGTERM, SIGKILL after the grace period), sandbox, volumes, then the final
 * status and the deletion of the pod object.
 */
import type { Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import type { KubeletContext } from './context.js';
import { gracePeriodOf, isTerminalPhase, newMemo, type PodMemo, podRuntimeState } from './pod-state.js';
import { generatePodStatus } from './pod-status.js';
import type { ProbeManager } from './probes/prober.js';
import { isStaticPod } from './sources/static-pods.js';
import type { StatusTarget } from './status-manager.js';
import { killPod, syncPod } from './sync-pod.js';
import { removePodDir, type TokenCache } from './volumes.js';

const RETRY_MS = 1000;

/** What workers need from the kubelet around them. */
export interface WorkerHost {
  ctx: KubeletContext;
  probes: ProbeManager;
  tokens: TokenCache;
  logger: Logger;
  /** Where the pod's status goes (its mirror for a static pod); undefined: nowhere (yet). */
  statusTarget(pod: Pod): StatusTarget | undefined;
  writeStatus(target: StatusTarget, status: PodStatus): Promise<boolean>;
  /** After a sync of a static pod: its mirror pod exists and matches. */
  afterSync(pod: Pod): Promise<void>;
  /** The pod is stopped and cleaned up; `deleteFromApi`: it was deleted there and waits for us. */
  finished(pod: Pod, deleteFromApi: boolean): Promise<void>;
  /** Set when the node shuts down: stop pods within this many seconds, write nothing. */
  shutdownGrace(): number | undefined;
}

/** What a pod update must change for the pod to be synced again (upstream's podsDifferSemantically). */
function semanticKey(pod: Pod): string {
  const m = pod.metadata ?? {};
  return JSON.stringify([m.labels, m.annotations, m.deletionTimestamp, m.deletionGracePeriodSeconds, pod.spec]);
}

export class PodWorker {
  readonly memo: PodMemo = newMemo();
  /** Gone from every source (not just deleted in the API). */
  private removed = false;
  private dirty = false;
  private running?: Promise<void>;
  private wakeTimer?: NodeJS.Timeout;
  private done = false;
  private lastError?: string;
  /** Set while a deletion's containers are being stopped (with the pod's own grace period). */
  private stopping = false;

  constructor(
    private readonly host: WorkerHost,
    public pod: Pod,
  ) {}

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  get terminating(): boolean {
    return this.removed || Boolean(this.pod.metadata?.deletionTimestamp);
  }

  /** A newer copy of the pod; synced again only when more than its status changed (as upstream's config). */
  update(pod: Pod): void {
    const changed = semanticKey(pod) !== semanticKey(this.pod);
    this.pod = pod;
    if (changed) this.kick();
  }

  /** The pod left its source: stop it (with `lastSeen`, the copy it had then). */
  remove(lastSeen?: Pod): void {
    if (lastSeen) this.pod = lastSeen;
    this.removed = true;
    this.kick();
  }

  kick(): void {
    if (this.done) return;
    this.dirty = true;
    this.running ??= this.loop();
  }

  wakeAt(when: number): void {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.kick(), Math.max(0, when - Date.now()) + 50);
    this.wakeTimer.unref?.();
  }

  /**
   * The node is going away while this pod's deletion waits out a longer grace period (30 s by
   * default, a process ignoring SIGTERM): its containers get at most `cap` seconds from now.
   */
  async cutGraceShort(cap: number): Promise<void> {
    if (!this.stopping) return;
    try {
      const state = await podRuntimeState(this.host.ctx.runtime, this.uid);
      await killPod(this.host.ctx, this.pod, state, { grace: cap, override: cap });
    } catch (err) {
      // The deletion under way still ends with its own SIGKILL; the node only waits longer.
      this.host.logger.warn({ err, pod: this.pod.metadata?.name }, 'could not cut a deleted pod short at shutdown');
    }
  }

  /** Resolves when the work under way is done. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.done) {
      this.dirty = false;
      try {
        if (this.host.shutdownGrace() !== undefined) await this.shutdown();
        else if (this.terminating) await this.terminate();
        else await this.sync();
      } catch (err) {
        // Said once at warn; the same failure again (every retry) only at debug.
        const text = (err as Error).message;
        const where = { err, pod: this.pod.metadata?.name, namespace: this.pod.metadata?.namespace };
        if (text === this.lastError) this.host.logger.debug(where, 'error syncing pod; retrying');
        else this.host.logger.warn(where, 'error syncing pod; retrying');
        this.lastError = text;
        if (!this.host.ctx.stopping.aborted) this.wakeAt(Date.now() + RETRY_MS);
      }
    }
    this.running = undefined;
  }

  private async sync(): Promise<void> {
    const { ctx, probes } = this.host;
    const pod = this.pod;
    const tools = { probes, tokens: this.host.tokens, wakeAt: (when: number) => this.wakeAt(when) };
    const state = this.memo.finished
      ? await podRuntimeState(ctx.runtime, this.uid)
      : await syncPod(ctx, tools, pod, this.memo);
    if (this.host.shutdownGrace() !== undefined) return;
    const before = isStaticPod(pod) ? this.memo.lastStatus : pod.status;
    const status = generatePodStatus({ pod, state, memo: this.memo, probes, nodeIP: ctx.nodeIP(), before });
    this.memo.lastStatus = status;
    // A pod the API says has ended is never brought back to life by a status write.
    if (isTerminalPhase(pod.status?.phase) && !isTerminalPhase(status.phase) && !isStaticPod(pod)) {
      this.memo.finished = true;
      return;
    }
    if (isTerminalPhase(status.phase) && !this.memo.finished) {
      // Done for good (restartPolicy Never/OnFailure): the network goes, the containers stay for their status and logs.
      probes.removePod(this.uid);
      for (const s of state.sandboxes) if (s.state === 'ready') await ctx.runtime.stopPodSandbox(s.id);
      this.memo.finished = true;
    }
    const target = this.host.statusTarget(pod);
    if (target) await this.host.writeStatus(target, status);
    await this.host.afterSync(pod);
  }

  private async terminate(): Promise<void> {
    const { ctx, probes } = this.host;
    const pod = this.pod;
    let state = await podRuntimeState(ctx.runtime, this.uid);
    this.stopping = true;
    try {
      await killPod(ctx, pod, state, { grace: Math.max(1, gracePeriodOf(pod)) });
    } finally {
      this.stopping = false;
    }
    probes.removePod(this.uid);
    if (this.host.shutdownGrace() !== undefined) return this.shutdown();
    state = await podRuntimeState(ctx.runtime, this.uid);
    const before = isStaticPod(pod) ? this.memo.lastStatus : pod.status;
    const status = generatePodStatus({
      pod,
      state,
      memo: this.memo,
      probes,
      nodeIP: ctx.nodeIP(),
      terminated: true,
      before,
    });
    for (const s of state.sandboxes) await ctx.runtime.removePodSandbox(s.id);
    await removePodDir(ctx, this.uid);
    this.host.tokens.forget(this.uid);
    ctx.restartBackOff.forget(`${this.uid}/`);
    ctx.pullBackOff.forget(`${this.uid}/`);
    const inApi = !this.removed && Boolean(pod.metadata?.deletionTimestamp);
    const target = inApi ? this.host.statusTarget(pod) : undefined;
    if (target) await this.host.writeStatus(target, status);
    this.done = true;
    clearTimeout(this.wakeTimer);
    await this.host.finished(pod, inApi);
  }

  /** The node is going away: stop the containers within the shutdown grace period; nothing is written. */
  private async shutdown(): Promise<void> {
    const { ctx, probes } = this.host;
    const cap = this.host.shutdownGrace() ?? 0;
    probes.removePod(this.uid);
    const state = await podRuntimeState(ctx.runtime, this.uid);
    const grace = Math.min(cap, Math.max(1, gracePeriodOf(this.pod)));
    await killPod(ctx, this.pod, state, { grace, override: grace });
    // The runtime removes every sandbox as the node goes; the pod's volumes (a tmpfs among them) go too.
    await removePodDir(ctx, this.uid);
    this.done = true;
    clearTimeout(this.wakeTimer);
  }
}
