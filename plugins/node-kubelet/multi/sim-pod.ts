/**
 * One pod on a simulated node: the kubelet's sync loop cut down to what a runtime without
 * processes needs. Admission (max pods, CPU, memory, nodeSelector), the sandbox (its IP from the
 * node's pod CIDR), init containers in order, app containers, restarts by restartPolicy with
 * CrashLoopBackOff, probes answered by the runtime, status as the real kubelet generates it
 * (pod-status.ts), and on deletion: stop, final status, delete with grace 0. Routine events
 * (Pulled, Created, Started) are not written, to keep a 10,000-pod test about the pods; warnings are.
 */
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import type { ApiClient } from 'skiff/sdk/client';
import { type ContainerStatus, KUBE_LABELS } from 'skiff/sdk/runtime';
import { admitPod } from '../admission.js';
import { type BackOff, goDuration } from '../backoff.js';
import type { KubeletConfig } from '../config.js';
import { containerFieldPath, type EventRecorder, type EventType, podTarget } from '../events.js';
import {
  appContainers,
  asObject,
  initContainers,
  instancesOf,
  isTerminalPhase,
  newMemo,
  type PodRuntimeState,
  podDescription,
  podRuntimeState,
  restartPolicy,
} from '../pod-state.js';
import { generatePodStatus } from '../pod-status.js';
import type { ProbeManager } from '../probes/prober.js';
import type { Limit } from './limit.js';
import { deleteFinishedPod, patchPodStatus } from './pod-writes.js';
import { ContainerProbes, type ProbeKind } from './probes.js';
import { SIMULATED_RESOURCES, type SimNode } from './sim-node.js';

/** A start slower than this gets its ContainerCreating status written before it completes. */
const SLOW_START_MS = 1000;
/** Read by runtime-simulated: an init container with no scripted exit completes as soon as it runs. */
export const INIT_CONTAINER_LABEL = 'sim.skiff.dev/init-container';

export interface PodHost {
  readonly config: KubeletConfig;
  readonly backoff: BackOff;
  /** API writes go through it: bounded concurrency. */
  readonly writes: Limit;
  readonly logger: Logger;
  /** What the pods did, logged when the host stops. */
  readonly counts: { syncs: number; statusWrites: number; echoes: number };
  client(node: SimNode): ApiClient;
  events(node: SimNode): EventRecorder;
  /** The pod is gone from this host. */
  forget(pod: SimPod): void;
}

/** The containers' ids and states, in a stable order: what the relist compares. */
const fingerprintOf = (containers: readonly ContainerStatus[]) =>
  containers
    .map((c) => `${c.id}:${c.state}`)
    .sort()
    .join(';');

const capitalized = (kind: ProbeKind) => `${kind[0]!.toUpperCase()}${kind.slice(1)}`;

export class SimPod {
  private readonly memo = newMemo();
  private readonly probes = new ContainerProbes();
  private readonly specs = new Map<string, Container>();
  private sandboxId?: string;
  private admitted = false;
  private syncing = false;
  private again = false;
  private removed = false;
  private written?: string;
  /** The resourceVersion our last status write made: its watch event is an echo. */
  private writtenVersion?: string;
  private fingerprint = '';
  /** When a back-off ends and the pod must be synced again (ms since the epoch). */
  private wakeAt = 0;

  constructor(
    readonly node: SimNode,
    public pod: Pod,
    private readonly host: PodHost,
  ) {}

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  update(pod: Pod): void {
    // The echo of our own status write needs no sync (a thousand nodes get ten thousand of them).
    const echo = pod.metadata?.resourceVersion !== undefined && pod.metadata.resourceVersion === this.writtenVersion;
    this.pod = pod;
    if (echo) this.host.counts.echoes++;
    else this.requestSync();
  }

  /** The pod object is gone from the API (deleted with grace 0, by us or anyone). */
  gone(): void {
    this.removed = true;
    void this.remove();
  }

  requestSync(): void {
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.sync();
      } catch (err) {
        this.host.logger.debug({ err, pod: podDescription(this.pod) }, 'simulated pod sync failed; retrying');
        this.wakeAt = Date.now() + 1000;
      }
    } while (this.again && !this.removed);
    this.syncing = false;
  }

  private async sync(): Promise<void> {
    const { pod } = this;
    this.host.counts.syncs++;
    if (this.removed) return;
    if (pod.metadata?.deletionTimestamp) return this.terminate();
    if (this.memo.finished) return;
    if (!this.sandboxId && isTerminalPhase(pod.status?.phase)) {
      this.memo.finished = true;
      return;
    }
    if (!this.admitted && !(await this.admit())) return;
    const runtime = this.node.runtime;
    if (!this.sandboxId) {
      this.sandboxId = await runtime.runPodSandbox({
        metadata: { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? 'default', uid: this.uid },
        hostNetwork: pod.spec?.hostNetwork ?? false,
        labels: this.labels(),
        annotations: { ...pod.metadata?.annotations },
      });
    }
    const starts = this.startContainers(await podRuntimeState(runtime, this.uid));
    if (starts.length) await this.whileStarting(Promise.all(starts));
    const phase = await this.writeStatus();
    if (isTerminalPhase(phase)) await this.finish();
  }

  /** Upstream's admission: a rejected pod is Failed with the reason (OutOfpods, ...) and never runs. */
  private async admit(): Promise<boolean> {
    const { config } = this.host;
    const running = [...this.node.admitted].map((p) => p.pod);
    const capacity = { ...SIMULATED_RESOURCES, pods: config.maxPods };
    const rejection = admitPod(this.pod, running, capacity, this.node.labels());
    if (rejection) {
      this.memo.finished = true;
      this.event('Warning', rejection.reason, rejection.message);
      await this.patchStatus({
        phase: 'Failed',
        reason: rejection.reason,
        message: `Pod was rejected: ${rejection.message}`,
      });
      return false;
    }
    this.admitted = true;
    this.node.admitted.add(this);
    return true;
  }

  private labels(): Record<string, string> {
    return {
      [KUBE_LABELS.podName]: this.pod.metadata?.name ?? '',
      [KUBE_LABELS.podNamespace]: this.pod.metadata?.namespace ?? 'default',
      [KUBE_LABELS.podUid]: this.uid,
    };
  }

  /** Init containers one at a time, in order, then every app container: what must start now. */
  private startContainers(state: PodRuntimeState): Promise<void>[] {
    for (const c of initContainers(this.pod)) {
      const { current } = instancesOf(state, c.name);
      if (current?.state === 'exited' && current.exitCode === 0) continue;
      if (!current) return [this.start(c, 0, true)];
      if (current.state !== 'exited') return [];
      this.removeDead(state, c.name);
      return restartPolicy(this.pod) === 'Never' ? [] : this.restart(c, current, true);
    }
    const starts: Promise<void>[] = [];
    for (const c of appContainers(this.pod)) {
      const { current } = instancesOf(state, c.name);
      if (!current) starts.push(this.start(c, 0, false));
      else if (current.state === 'exited' && this.restarts(current)) {
        this.removeDead(state, c.name);
        starts.push(...this.restart(c, current, false));
      }
    }
    return starts;
  }

  /** Upstream's container GC (one dead container kept per container, for lastState): the older ones go. */
  private removeDead(state: PodRuntimeState, name: string): void {
    for (const old of state.containers.filter((c) => c.name === name).slice(1)) {
      this.specs.delete(old.id);
      this.probes.forget(old.id);
      void this.node.runtime.removeContainer(old.id);
    }
  }

  private restarts(c: ContainerStatus): boolean {
    const policy = restartPolicy(this.pod);
    return policy === 'Always' || (policy === 'OnFailure' && c.exitCode !== 0);
  }

  /** Upstream's CrashLoopBackOff: the first restart at once, then 10 s doubling to 5 min. */
  private restart(c: Container, current: ContainerStatus, isInit: boolean): Promise<void>[] {
    const key = `${this.uid}/${c.name}`;
    const backoff = this.host.backoff;
    const finished = Date.parse(current.finishedAt ?? current.createdAt);
    if (backoff.isInBackOffSince(key, finished)) {
      const message = `back-off ${goDuration(backoff.get(key))} restarting failed container=${c.name} pod=${podDescription(this.pod)}`;
      if (this.memo.waiting.get(c.name)?.reason !== 'CrashLoopBackOff') {
        this.event(
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${c.name} in pod ${podDescription(this.pod)}`,
          c.name,
        );
      }
      this.memo.waiting.set(c.name, { reason: 'CrashLoopBackOff', message });
      this.wakeAt = backoff.until(key, finished);
      return [];
    }
    backoff.next(key, finished);
    this.memo.waiting.delete(c.name);
    return [this.start(c, current.attempt + 1, isInit)];
  }

  private async start(c: Container, attempt: number, isInit: boolean): Promise<void> {
    const runtime = this.node.runtime;
    let id: string;
    try {
      id = await runtime.createContainer(this.sandboxId!, {
        name: c.name,
        attempt,
        image: c.image ?? '',
        command: c.command,
        args: c.args,
        labels: {
          ...this.labels(),
          [KUBE_LABELS.containerName]: c.name,
          ...(isInit ? { [INIT_CONTAINER_LABEL]: 'true' } : {}),
        },
        annotations: {},
      });
    } catch (err) {
      // As the real kubelet: the container waits with CreateContainerError, and is tried again later.
      const message = (err as Error).message;
      this.memo.waiting.set(c.name, { reason: 'CreateContainerError', message });
      this.event('Warning', 'Failed', `Error: ${message}`, c.name);
      this.wakeAt = Date.now() + this.host.config.crashLoopBackOff.initialSeconds * 1000;
      return;
    }
    this.memo.waiting.delete(c.name);
    this.specs.set(id, c);
    await runtime.startContainer(id);
  }

  /** Waits for the starts; a slow one first gets the pod's ContainerCreating status written. */
  private async whileStarting(starts: Promise<unknown>): Promise<void> {
    let slow: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      slow = setTimeout(() => resolve(true), SLOW_START_MS);
    });
    try {
      if (await Promise.race([starts.then(() => false), timedOut])) {
        await this.writeStatus();
        await starts;
      }
    } finally {
      clearTimeout(slow);
    }
  }

  /** Generates the status (pod-status.ts, as the real kubelet) and writes it when it changed; returns the phase. */
  private async writeStatus(terminated = false): Promise<string | undefined> {
    const state = await podRuntimeState(this.node.runtime, this.uid);
    const status = generatePodStatus({
      pod: this.pod,
      state,
      memo: this.memo,
      probes: this.probeView(),
      nodeIP: this.node.address,
      terminated,
    });
    // What this sync saw: the relist need not sync the pod again for it.
    this.fingerprint = fingerprintOf(state.containers);
    const text = JSON.stringify(status);
    if (text !== this.written && (await this.patchStatus(status))) {
      this.written = text;
      this.host.counts.statusWrites++;
    }
    return status.phase;
  }

  private probeView(): ProbeManager {
    const view = {
      started: (_pod: Pod, c: { container: Container; id: string }) => this.probes.started(c.container, c.id),
      ready: (_uid: string, id: string) => {
        const spec = this.specs.get(id);
        return spec ? this.probes.ready(spec, id) : undefined;
      },
    };
    return view as unknown as ProbeManager;
  }

  /** Through pods/status with the uid as precondition (pod-writes.ts); false when the pod is gone. */
  private async patchStatus(status: object): Promise<boolean> {
    const version = await this.host.writes(() => patchPodStatus(this.host.client(this.node), this.pod, status));
    if (version !== undefined) this.writtenVersion = version;
    return version !== undefined;
  }

  /** The pod reached Succeeded or Failed: its sandbox stops (the IP stays in its status). */
  private async finish(): Promise<void> {
    this.memo.finished = true;
    this.node.admitted.delete(this);
    if (this.sandboxId) await this.node.runtime.stopPodSandbox(this.sandboxId);
  }

  /** A graceful deletion: simulated containers obey SIGTERM at once; then the final status, then delete with grace 0. */
  private async terminate(): Promise<void> {
    if (this.sandboxId) await this.node.runtime.stopPodSandbox(this.sandboxId);
    this.memo.finished = true;
    this.node.admitted.delete(this);
    if (this.sandboxId) await this.writeStatus(true);
    await this.host.writes(() => deleteFinishedPod(this.host.client(this.node), this.pod));
    this.removed = true;
    await this.remove();
  }

  private async remove(): Promise<void> {
    this.node.admitted.delete(this);
    this.host.forget(this);
    this.host.backoff.forget(`${this.uid}/`);
    const id = this.sandboxId;
    this.sandboxId = undefined;
    if (id) await this.node.runtime.removePodSandbox(id);
  }

  /**
   * The host's relist (upstream's PLEG) hands each pod its containers as the runtime lists them:
   * a change syncs the pod; running containers are probed; an ended back-off syncs it again.
   */
  async relist(containers: readonly ContainerStatus[]): Promise<void> {
    if (this.removed || this.memo.finished) return;
    const fingerprint = fingerprintOf(containers);
    let sync = fingerprint !== this.fingerprint || (this.wakeAt > 0 && Date.now() >= this.wakeAt);
    this.fingerprint = fingerprint;
    if (sync) this.wakeAt = 0;
    for (const c of containers) {
      const spec = this.specs.get(c.id);
      if (c.state !== 'running' || !spec) continue;
      if (await this.probe(spec, c)) sync = true;
    }
    if (sync) this.requestSync();
  }

  /** Runs the container's due probes; true when the pod's status must be written again. */
  private async probe(spec: Container, c: ContainerStatus): Promise<boolean> {
    const runtime = this.node.runtime;
    const answer = (kind: ProbeKind) => runtime.simulateProbe?.(c.id, kind) ?? true;
    let changed = false;
    for (const verdict of this.probes.evaluate(spec, c.id, Date.parse(c.startedAt ?? c.createdAt), answer)) {
      changed ||= verdict.changed;
      if (!verdict.passed) {
        this.event(
          'Warning',
          'Unhealthy',
          `${capitalized(verdict.kind)} probe failed: the simulated runtime reports a failure`,
          spec.name,
        );
      }
      if (verdict.kill) {
        this.event(
          'Normal',
          'Killing',
          `Container ${spec.name} failed ${verdict.kind} probe, will be restarted`,
          spec.name,
        );
        await runtime.stopContainer(c.id, this.pod.spec?.terminationGracePeriodSeconds ?? 30);
        this.probes.forget(c.id);
        changed = true;
      }
    }
    return changed;
  }

  private event(type: EventType, reason: string, message: string, container?: string): void {
    const target = podTarget(
      asObject(this.pod),
      container ? containerFieldPath(asObject(this.pod), container) : undefined,
    );
    this.host.events(this.node).record(target, type, reason, message);
  }
}
