/**
 * The probe manager (the seed's 3.4.3): one worker per probe of each running container, as
 * upstream's prober workers. A worker waits initialDelaySeconds after the container started, then
 * probes every periodSeconds with timeoutSeconds; successThreshold consecutive successes or
 * failureThreshold consecutive failures change its result. Liveness and readiness wait for the
 * startup probe to succeed. A changed result wakes the pod's worker: a failed liveness or startup
 * probe restarts the container, readiness sets the Ready conditions. Each failed probe is an
 * Unhealthy event, as upstream records it.
 */
import type { Container, Pod, Probe } from 'kubernetes-types/core/v1.js';
import type { KubeletContext } from '../context.js';
import { containerFieldPath, podTarget } from '../events.js';
import { asObject } from '../pod-state.js';
import { type CheckResult, execCheck, httpCheck, resolvePort, tcpCheck } from './checks.js';
import { grpcCheck } from './grpc.js';

export type ProbeType = 'liveness' | 'readiness' | 'startup';
type Result = 'success' | 'failure' | 'unknown';

const TITLES: Record<ProbeType, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

export interface RunningContainer {
  container: Container;
  id: string;
  /** When the container started (ms since the epoch). */
  startedAt: number;
}

/** Runs one probe action. */
export function runProbe(ctx: KubeletContext, probe: Probe, c: RunningContainer, podIP: string): Promise<CheckResult> {
  const timeout = probe.timeoutSeconds ?? 1;
  try {
    if (probe.exec) return execCheck(ctx.runtime, c.id, probe.exec.command ?? [], timeout);
    if (probe.httpGet)
      return httpCheck(probe.httpGet, podIP, resolvePort(probe.httpGet.port, c.container.ports), timeout);
    if (probe.tcpSocket) {
      const port = resolvePort(probe.tcpSocket.port, c.container.ports);
      return tcpCheck(probe.tcpSocket.host || podIP, port, timeout);
    }
    if (probe.grpc) return grpcCheck(podIP, probe.grpc.port, probe.grpc.service ?? '', timeout);
  } catch (err) {
    return Promise.resolve({ ok: false, output: (err as Error).message });
  }
  return Promise.resolve({ ok: false, output: 'probe has no action' });
}

class ProbeWorker {
  result: Result;
  output = '';
  private successes = 0;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly manager: ProbeManager,
    readonly type: ProbeType,
    private readonly probe: Probe,
    private readonly pod: Pod,
    readonly target: RunningContainer,
    private readonly podIP: string,
  ) {
    // Upstream's initial results: not ready until proven ready; alive until proven dead.
    this.result = type === 'readiness' ? 'failure' : type === 'liveness' ? 'success' : 'unknown';
    const delay = Math.max(0, target.startedAt + (probe.initialDelaySeconds ?? 0) * 1000 - Date.now());
    this.schedule(delay);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    // Liveness and readiness wait for the startup probe; a failed liveness or startup probe waits for the restart.
    const gated = this.type !== 'startup' && !this.manager.started(this.pod, this.target);
    const settledFailure = this.type !== 'readiness' && this.result === 'failure';
    if (!gated && !settledFailure) await this.probeOnce();
    this.schedule((this.probe.periodSeconds ?? 10) * 1000);
  }

  private async probeOnce(): Promise<void> {
    const { ctx } = this.manager;
    const outcome = await runProbe(ctx, this.probe, this.target, this.podIP);
    if (this.stopped) return;
    if (outcome.ok) {
      this.failures = 0;
      this.successes++;
      if (this.result !== 'success' && this.successes >= (this.probe.successThreshold ?? 1)) this.set('success', '');
      return;
    }
    this.successes = 0;
    this.failures++;
    const target = podTarget(asObject(this.pod), containerFieldPath(asObject(this.pod), this.target.container.name));
    ctx.events.record(target, 'Warning', 'Unhealthy', `${TITLES[this.type]} probe failed: ${outcome.output}`);
    if (this.result !== 'failure' && this.failures >= (this.probe.failureThreshold ?? 3))
      this.set('failure', outcome.output);
  }

  private set(result: Result, output: string): void {
    this.result = result;
    this.output = output;
    this.manager.changed(this.pod.metadata?.uid ?? '');
  }
}

export class ProbeManager {
  private readonly workers = new Map<string, ProbeWorker>();

  constructor(
    readonly ctx: KubeletContext,
    private readonly onChange: (podUid: string) => void,
  ) {}

  changed(uid: string): void {
    this.onChange(uid);
  }

  /** After a sync: workers for the pod's running containers; those of containers gone are stopped. */
  update(pod: Pod, running: RunningContainer[], podIP: string): void {
    const uid = pod.metadata?.uid ?? '';
    const wanted = new Set<string>();
    for (const c of running) {
      for (const type of ['startup', 'liveness', 'readiness'] as const) {
        const probe = c.container[`${type}Probe`];
        if (!probe) continue;
        const key = `${uid}/${c.id}/${type}`;
        wanted.add(key);
        if (!this.workers.has(key)) this.workers.set(key, new ProbeWorker(this, type, probe, pod, c, podIP));
      }
    }
    for (const [key, worker] of this.workers) {
      if (key.startsWith(`${uid}/`) && !wanted.has(key)) {
        worker.stop();
        this.workers.delete(key);
      }
    }
  }

  removePod(uid: string): void {
    for (const [key, worker] of this.workers) {
      if (!key.startsWith(`${uid}/`)) continue;
      worker.stop();
      this.workers.delete(key);
    }
  }

  stopAll(): void {
    for (const worker of this.workers.values()) worker.stop();
    this.workers.clear();
  }

  private worker(uid: string, id: string, type: ProbeType): ProbeWorker | undefined {
    return this.workers.get(`${uid}/${id}/${type}`);
  }

  /** Whether the container has started: no startup probe, or it succeeded. */
  started(pod: Pod, c: RunningContainer): boolean {
    if (!c.container.startupProbe) return true;
    return this.worker(pod.metadata?.uid ?? '', c.id, 'startup')?.result === 'success';
  }

  /** Readiness: undefined when the container has no readiness probe. */
  ready(uid: string, id: string): boolean | undefined {
    const w = this.worker(uid, id, 'readiness');
    return w ? w.result === 'success' : undefined;
  }

  /** The probe (liveness, then startup) that says the container must be restarted, if any. */
  failed(uid: string, id: string): { type: ProbeType; output: string } | undefined {
    for (const type of ['liveness', 'startup'] as const) {
      const w = this.worker(uid, id, type);
      if (w?.result === 'failure') return { type, output: w.output };
    }
    return undefined;
  }
}
