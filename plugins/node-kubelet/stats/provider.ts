/**
 * The kubelet's stats provider (cAdvisor's role, seed 3.4): one sampler per kubelet takes a sample
 * of the machine and of every running pod (the runtime's sandbox and container stats, volume usage
 * from the pod's directory) every --housekeeping-interval, and /stats/summary, /stats/ and
 * /metrics/resource read the latest sample instead of asking the runtime per request. usageNanoCores
 * is the CPU time between two samples over the time between them (the runtime's own figure when it
 * gives one). The sampler starts on the first request for stats, so a node nobody asks about (a
 * thousand simulated ones) never samples.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import {
  type ContainerRuntime,
  type ContainerStats,
  type ContainerStatus,
  KUBE_LABELS,
  type PodSandboxStats,
  type PodSandboxStatus,
} from 'skiff/sdk/runtime';
import {
  bootTime,
  diskUsage,
  type FsUsage,
  fsUsage,
  type HostMemory,
  hostCpu,
  hostInterfaces,
  hostMemory,
  type InterfaceCounters,
  processLimits,
  selfProcess,
} from './host.js';

/** What the provider reads of the kubelet (KubeletState fits). */
export interface StatsSource {
  readonly nodeName: string;
  readonly rootDir: string;
  readonly runtime: ContainerRuntime;
  pod(namespace: string, name: string): Pod | undefined;
  podDirectory(uid: string): string;
}

export interface CpuSample {
  usageCoreNanoSeconds: number;
  usageNanoCores?: number;
}

export interface VolumeSample {
  name: string;
  /** The volume plugin's directory name: kubernetes.io~empty-dir, kubernetes.io~configmap, ... */
  plugin: string;
  usedBytes: number;
  inodesUsed: number;
  fs?: FsUsage;
}

export interface ContainerSample {
  name: string;
  startTime: string;
  stats: ContainerStats;
  cpu: CpuSample;
}

export interface PodSample {
  name: string;
  namespace: string;
  uid: string;
  startTime: string;
  sandbox: PodSandboxStats;
  cpu: CpuSample;
  containers: ContainerSample[];
  volumes: VolumeSample[];
}

export interface NodeSample {
  startTime: Date;
  cpu: CpuSample;
  memory: HostMemory;
  interfaces: InterfaceCounters[];
  fs?: FsUsage;
  imageFs?: FsUsage & { runtimeUsedBytes: number };
  rlimit: { maxpid: number; curproc: number };
  kubelet: { startTime: Date; cpu: CpuSample; rssBytes: number };
}

export interface Sample {
  time: Date;
  node: NodeSample;
  pods: PodSample[];
  /** Whether reading some pod's stats failed (resource_scrape_error). */
  error: boolean;
}

/** How many node samples /stats/ shows (cAdvisor's recent history). */
const HISTORY = 6;

export class StatsProvider {
  private last?: Sample;
  private readonly history: Sample[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<Sample>;
  private stopped = false;

  constructor(
    private readonly source: StatsSource,
    private readonly intervalSeconds: number,
    private readonly logger: Logger,
  ) {}

  /** The latest sample, taking the first one now (and starting the sampler) when there is none. */
  async current(): Promise<Sample> {
    if (!this.timer && !this.stopped) {
      this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.intervalSeconds * 1000);
      this.timer.unref();
    }
    return this.last ?? this.refresh();
  }

  /** The last few samples, oldest first (for /stats/). */
  recent(): Sample[] {
    return [...this.history];
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Takes a sample (one at a time: a slow runtime never stacks samplers up). */
  refresh(): Promise<Sample> {
    this.inFlight ??= this.take().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async take(): Promise<Sample> {
    const time = new Date();
    const previous = this.last;
    const [pods, error] = await this.podSamples(previous, time);
    const sample: Sample = { time, node: this.nodeSample(previous, time), pods, error };
    this.last = sample;
    this.history.push(sample);
    if (this.history.length > HISTORY) this.history.shift();
    return sample;
  }

  private nodeSample(previous: Sample | undefined, time: Date): NodeSample {
    const self = selfProcess();
    const runtimeDir = join(this.source.rootDir, 'runtime');
    const imageFs = fsUsage(runtimeDir);
    return {
      startTime: bootTime(),
      cpu: rate(hostCpu().usageCoreNanoSeconds, previous?.node.cpu, previous?.time, time),
      memory: hostMemory(),
      interfaces: hostInterfaces(),
      fs: fsUsage(this.source.rootDir),
      imageFs: imageFs && { ...imageFs, runtimeUsedBytes: diskUsage(runtimeDir).bytes },
      rlimit: processLimits(),
      kubelet: {
        startTime: self.startTime,
        cpu: rate(self.usageCoreNanoSeconds, previous?.node.kubelet.cpu, previous?.time, time),
        rssBytes: self.rssBytes,
      },
    };
  }

  private async podSamples(previous: Sample | undefined, time: Date): Promise<[PodSample[], boolean]> {
    const runtime = this.source.runtime;
    const [sandboxes, containers] = await Promise.all([
      runtime.listPodSandboxes({ state: 'ready' }),
      runtime.listContainers(),
    ]);
    let error = false;
    const pods: PodSample[] = [];
    for (const sandbox of sandboxes) {
      try {
        const stats = await runtime.podSandboxStats(sandbox.id);
        const before = previous?.pods.find((p) => p.sandbox.id === sandbox.id);
        pods.push(this.podSample(sandbox, stats, containers, before, previous?.time, time));
      } catch (err) {
        // A sandbox removed between the list and its stats is not an error; anything else is.
        if ((err as { reason?: string }).reason !== 'NotFound') {
          error = true;
          this.logger.debug({ err, sandbox: sandbox.id }, 'pod stats failed');
        }
      }
    }
    return [pods, error];
  }

  private podSample(
    sandbox: PodSandboxStatus,
    stats: PodSandboxStats,
    statuses: ContainerStatus[],
    before: PodSample | undefined,
    previousTime: Date | undefined,
    time: Date,
  ): PodSample {
    const { name, namespace } = sandbox.metadata;
    const uid = sandbox.labels[KUBE_LABELS.podUid] ?? sandbox.metadata.uid;
    const pod = this.source.pod(namespace, name);
    const running = statuses.filter((c) => c.podSandboxId === sandbox.id && c.state === 'running');
    const containers: ContainerSample[] = [];
    for (const status of running) {
      const cs = stats.containers.find((c) => c.id === status.id);
      if (!cs) continue;
      const old = before?.containers.find((c) => c.stats.id === cs.id)?.cpu;
      containers.push({
        name: status.name,
        startTime: status.startedAt ?? status.createdAt,
        stats: cs,
        cpu: cs.cpu.usageNanoCores !== undefined ? cs.cpu : rate(cs.cpu.usageCoreNanoSeconds, old, previousTime, time),
      });
    }
    return {
      name: pod?.metadata?.name ?? name,
      namespace,
      uid,
      startTime: pod?.status?.startTime ?? sandbox.createdAt,
      sandbox: stats,
      cpu:
        stats.cpu.usageNanoCores !== undefined
          ? stats.cpu
          : rate(stats.cpu.usageCoreNanoSeconds, before?.cpu, previousTime, time),
      containers,
      volumes: this.volumes(uid),
    };
  }

  /** Every volume in the pod's directory: <pod dir>/volumes/<plugin>/<name>. */
  private volumes(uid: string): VolumeSample[] {
    const root = join(this.source.podDirectory(uid), 'volumes');
    const out: VolumeSample[] = [];
    for (const plugin of list(root)) {
      for (const name of list(join(root, plugin))) {
        const dir = join(root, plugin, name);
        const used = diskUsage(dir);
        out.push({ name, plugin, usedBytes: used.bytes, inodesUsed: used.inodes, fs: fsUsage(dir) });
      }
    }
    return out;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** CPU time now, and the average rate since the previous sample when there is one. */
function rate(usage: number, before: CpuSample | undefined, previousTime: Date | undefined, time: Date): CpuSample {
  if (!before || !previousTime) return { usageCoreNanoSeconds: usage };
  const elapsedNs = (time.getTime() - previousTime.getTime()) * 1e6;
  if (elapsedNs <= 0 || usage < before.usageCoreNanoSeconds) return { usageCoreNanoSeconds: usage };
  return {
    usageCoreNanoSeconds: usage,
    usageNanoCores: Math.round(((usage - before.usageCoreNanoSeconds) / elapsedNs) * 1e9),
  };
}
