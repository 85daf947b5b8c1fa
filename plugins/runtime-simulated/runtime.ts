/**
 * A simulated node's runtime: sandboxes and containers as records in memory, nothing on the host.
 * A sandbox takes the next address of the node's pod CIDR; a started container is Running after
 * the start delay and then does what its pod's annotations script (script.ts): exit, fail probes.
 * Deadlines go to the Clock shared by every simulated node of the process.
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  type ContainerConfig,
  type ContainerFilter,
  type ContainerRuntime,
  type ContainerStats,
  type ContainerStatus,
  type ExecResult,
  type ImageInfo,
  matchesLabels,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStats,
  type PodSandboxStatus,
  RuntimeError,
  type RuntimeOptions,
  type RuntimeStatus,
  type StreamSession,
} from 'skiff/sdk/runtime';
import { AddressPool, contains, parseRange } from './addresses.js';
import type { Clock } from './clock.js';
import type { SimulatedRuntimeConfig } from './config.js';
import { INIT_CONTAINER_LABEL, type Script, scriptOf } from './script.js';

interface Sandbox extends PodSandboxStatus {
  logDirectory: string;
}

interface Container {
  /** What status calls return: a frozen snapshot, replaced on each change (lists copy nothing). */
  status: Readonly<ContainerStatus>;
  script: Script;
  /** Bumped by every start and stop: a deadline set for an earlier run no longer applies. */
  run: number;
}

let sequence = 0;
/** Ids unique in the process: a per-process random part and a counter (no entropy per container). */
const PROCESS_TAG = createHash('sha256').update(`${process.pid}:${Date.now()}`).digest('hex').slice(0, 8);
const nextId = () => `${PROCESS_TAG}${(++sequence).toString(16).padStart(8, '0')}`;
const stamp = () => new Date().toISOString();

const NO_PROCESSES = 'runtime-simulated runs no processes';
const USE_PROCESS = 'run the pod on a node with --runtime process';

export class SimulatedRuntime implements ContainerRuntime {
  readonly name = 'simulated';
  private pool?: AddressPool;
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly containers = new Map<string, Container>();

  constructor(
    private readonly config: SimulatedRuntimeConfig,
    private readonly clock: Clock,
    private readonly options: RuntimeOptions,
  ) {}

  async status(): Promise<RuntimeStatus> {
    return {
      runtimeReady: true,
      networkReady: this.pool !== undefined,
      networkMode: 'pod',
      namespaces: false,
      cgroups: false,
      warnings: [],
      nodeAddress: this.pool?.gateway,
      clusterCIDR: this.config.clusterCIDR,
    };
  }

  async updateRuntimeConfig({ podCIDR }: { podCIDR: string }): Promise<void> {
    const range = parseRange(podCIDR);
    if (!contains(parseRange(this.config.clusterCIDR), range)) {
      throw new RuntimeError(
        'InvalidArgument',
        `pod CIDR ${podCIDR} is not inside the cluster CIDR ${this.config.clusterCIDR}`,
        'give a node podCIDR inside runtime-simulated.clusterCIDR',
      );
    }
    if (this.pool && this.pool.range.base === range.base && this.pool.range.size === range.size) return;
    this.pool = new AddressPool(range);
  }

  async resolveImage(image: string): Promise<ImageInfo> {
    if (!image) throw new RuntimeError('ImageNotFound', 'a container needs an image', 'name an image');
    const digest = createHash('sha256').update(image).digest('hex');
    return { image, imageRef: `${image.split(':')[0]}@sha256:${digest}`, entrypoint: [], cmd: [] };
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const { metadata } = config;
    if (!metadata?.name || !metadata.namespace || !metadata.uid) {
      throw new RuntimeError('InvalidArgument', 'a sandbox needs metadata name, namespace and uid', 'fill in metadata');
    }
    if (!this.pool) {
      throw new RuntimeError(
        'NetworkNotReady',
        `node ${this.options.nodeName} has no pod CIDR yet`,
        'wait for the node to get spec.podCIDR',
      );
    }
    const id = nextId();
    this.sandboxes.set(id, {
      id,
      metadata,
      state: 'ready',
      createdAt: stamp(),
      ip: config.hostNetwork ? this.pool.gateway : this.pool.take(),
      hostNetwork: config.hostNetwork ?? false,
      labels: config.labels ?? {},
      annotations: config.annotations ?? {},
      logDirectory: config.logDirectory ?? '',
    });
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const sandbox = this.sandboxes.get(id);
    if (!sandbox || sandbox.state === 'notready') return;
    for (const c of this.containers.values()) if (c.status.podSandboxId === id) this.exit(c, 143, 'Error');
    sandbox.state = 'notready';
    if (!sandbox.hostNetwork) this.pool?.release(sandbox.ip);
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.stopPodSandbox(id);
    for (const [cid, c] of [...this.containers]) if (c.status.podSandboxId === id) this.containers.delete(cid);
    this.sandboxes.delete(id);
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    const { logDirectory: _, ...status } = this.sandbox(id);
    return status;
  }

  async listPodSandboxes(filter?: PodSandboxFilter): Promise<PodSandboxStatus[]> {
    return [...this.sandboxes.values()]
      .filter((s) => (!filter?.state || s.state === filter.state) && matchesLabels(s.labels, filter?.labels))
      .map(({ logDirectory: _, ...s }) => s);
  }

  async createContainer(podSandboxId: string, config: ContainerConfig): Promise<string> {
    const sandbox = this.sandbox(podSandboxId);
    if (sandbox.state !== 'ready') {
      throw new RuntimeError('NotRunning', `sandbox ${podSandboxId} is not ready`, 'run a new sandbox for the pod');
    }
    const annotations = config.annotations ?? {};
    const script = scriptOf({ ...sandbox.annotations, ...annotations }, config.name);
    // An init container must end for the pod to go on: unless scripted, it completes at once.
    if (config.labels?.[INIT_CONTAINER_LABEL] === 'true') script.exitAfterMs ??= 0;
    const image = await this.resolveImage(config.image);
    const id = nextId();
    const attempt = config.attempt ?? 0;
    const status: ContainerStatus = {
      id,
      containerId: `skiff-simulated://${id}`,
      podSandboxId,
      name: config.name,
      attempt,
      state: 'created',
      createdAt: stamp(),
      image: config.image,
      imageRef: image.imageRef,
      logPath: `${sandbox.logDirectory}/${config.logPath ?? `${config.name}/${attempt}.log`}`,
      labels: config.labels ?? {},
      annotations,
    };
    this.containers.set(id, { status: Object.freeze(status), script, run: 0 });
    return id;
  }

  /** Resolves once the container is Running: after the start delay (the image pull and start, simulated). */
  async startContainer(id: string): Promise<void> {
    const c = this.container(id);
    if (c.status.state !== 'created') {
      throw new RuntimeError(
        'InvalidArgument',
        `container ${id} is ${c.status.state}, not created`,
        'create a new container',
      );
    }
    const run = ++c.run;
    await this.clock.sleep(c.script.startDelayMs ?? this.config.startDelaySeconds * 1000);
    if (c.run !== run || c.status.state !== 'created') return;
    c.status = Object.freeze({ ...c.status, state: 'running', startedAt: stamp() });
    const exitAfter = c.script.exitAfterMs;
    const exitReason = c.script.exitCode === 0 ? 'Completed' : 'Error';
    if (exitAfter === 0) this.exit(c, c.script.exitCode, exitReason);
    else if (exitAfter !== undefined) {
      this.clock.at(Date.now() + exitAfter, () => {
        if (c.run === run) this.exit(c, c.script.exitCode, exitReason);
      });
    }
  }

  /** As a process that obeys SIGTERM: it exits at once, code 143. */
  async stopContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (c) this.exit(c, 143, 'Error');
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (c) this.exit(c, 143, 'Error');
    this.containers.delete(id);
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    return this.container(id).status;
  }

  async listContainers(filter?: ContainerFilter): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    for (const c of this.containers.values()) {
      const { status } = c;
      if (filter?.podSandboxId && status.podSandboxId !== filter.podSandboxId) continue;
      if (filter?.state && status.state !== filter.state) continue;
      if (!filter?.labels || matchesLabels(status.labels, filter.labels)) out.push(status);
    }
    return out;
  }

  /** Probes scripted by sim.skiff.dev/<kind>-fail-after: they pass until that long after the start. */
  simulateProbe(id: string, kind: 'liveness' | 'readiness' | 'startup'): boolean {
    const c = this.containers.get(id);
    if (c?.status.state !== 'running' || !c.status.startedAt) return false;
    const failAfter = c.script.failAfterMs[kind];
    return failAfter === undefined || Date.now() < Date.parse(c.status.startedAt) + failAfter;
  }

  /** An exec probe's command "runs" and succeeds; it prints nothing. */
  async execSync(id: string): Promise<ExecResult> {
    const c = this.container(id);
    if (c.status.state !== 'running')
      throw new RuntimeError('NotRunning', `container ${id} is not running`, 'wait for it to run');
    return { exitCode: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
  }

  async exec(): Promise<StreamSession> {
    throw new RuntimeError('Unavailable', `${NO_PROCESSES}: there is nothing to exec in`, USE_PROCESS);
  }

  async attach(): Promise<StreamSession> {
    throw new RuntimeError('Unavailable', `${NO_PROCESSES}: there is nothing to attach to`, USE_PROCESS);
  }

  async portForward(): Promise<Duplex> {
    throw new RuntimeError('Unavailable', `${NO_PROCESSES}: no port listens in a simulated pod`, USE_PROCESS);
  }

  async containerStats(id: string): Promise<ContainerStats> {
    const c = this.container(id);
    return { id, name: c.status.name, ...zeroUsage(), logsUsedBytes: 0, writableUsedBytes: 0, processCount: 0 };
  }

  async podSandboxStats(id: string): Promise<PodSandboxStats> {
    this.sandbox(id);
    const containers = await Promise.all(
      [...this.containers.values()]
        .filter((c) => c.status.podSandboxId === id)
        .map((c) => this.containerStats(c.status.id)),
    );
    return { id, ...zeroUsage(), processCount: 0, containers };
  }

  async close(options?: { stopAll?: boolean }): Promise<void> {
    if (!options?.stopAll) return;
    for (const id of [...this.sandboxes.keys()]) await this.removePodSandbox(id);
  }

  private exit(c: Container, exitCode: number, reason: string): void {
    c.run++;
    if (c.status.state === 'exited') return;
    c.status = Object.freeze({ ...c.status, state: 'exited', exitCode, reason, finishedAt: stamp() });
  }

  private sandbox(id: string): Sandbox {
    const s = this.sandboxes.get(id);
    if (!s) throw new RuntimeError('NotFound', `no sandbox ${id}`, 'list sandboxes for the current ids');
    return s;
  }

  private container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw new RuntimeError('NotFound', `no container ${id}`, 'list containers for the current ids');
    return c;
  }
}

function zeroUsage() {
  const timestamp = Date.now();
  return {
    cpu: { timestamp, usageCoreNanoSeconds: 0 },
    memory: { timestamp, usageBytes: 0, workingSetBytes: 0, rssBytes: 0 },
  };
}
