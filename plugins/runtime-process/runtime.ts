/**
 * runtime-process: pods as real processes (see README.md). One ProcessRuntime per node; the
 * sandbox is a named network namespace (the seed's "pause" container, without a process: the
 * namespace lives as long as its bind mount under /run/netns), containers are processes under shims.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
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
  type RuntimeLogger,
  type RuntimeOptions,
  type RuntimeStatus,
  type StreamOptions,
  type StreamSession,
} from 'skiff/sdk/runtime';
import { Cgroups } from './cgroups.js';
import { AddressPool, type Cidr, contains, gatewayOf, parseCidr, translate } from './cidr.js';
import { type ProcessRuntimeConfig, processRuntimeConfig } from './config.js';
import * as containers from './containers.js';
import { containerOf, type RuntimeContext, sandboxOf, sandboxStatus } from './context.js';
import { CGROUP_ROOT, chooseCgroups, chooseIsolation, chooseNetwork } from './detect.js';
import { findTools, isRoot } from './host.js';
import { ImageTable } from './images.js';
import { BridgeNetwork, networkNames } from './network.js';
import { waitUntil } from './proc.js';
import { now, type SandboxRecord, StateDir } from './state.js';
import * as stats from './stats.js';
import * as streams from './streams.js';

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {}
}

const silent: RuntimeLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Open a runtime for one node; `config` is runtime-process's config block (defaults applied here). */
export async function openProcessRuntime(
  config: Partial<ProcessRuntimeConfig>,
  options: RuntimeOptions,
): Promise<ProcessRuntime> {
  const runtime = new ProcessRuntime(buildContext(processRuntimeConfig.parse(config), options));
  await runtime.adopt();
  if (options.podCIDR) await runtime.updateRuntimeConfig({ podCIDR: options.podCIDR });
  return runtime;
}

function buildContext(config: ProcessRuntimeConfig, options: RuntimeOptions): RuntimeContext {
  const logger = options.logger ?? silent;
  const tools = findTools();
  const root = isRoot();
  const warnings: string[] = [];
  const isolation = chooseIsolation(config, tools, root, warnings);
  const networkMode = chooseNetwork(config, tools, root, warnings);
  const cgroupsOn = chooseCgroups(config, root, warnings);
  const cluster = parseCidr(config.clusterCIDR);
  const ctx: RuntimeContext = {
    config,
    nodeName: options.nodeName,
    logger,
    tools,
    state: new StateDir(options.rootDir),
    runDir: root ? `/run/${config.prefix}-runtime` : join(options.rootDir, 'run'),
    isolation,
    networkMode,
    network:
      networkMode === 'pod'
        ? new BridgeNetwork(tools.ip!, networkNames(config.prefix, config.bridge), cluster, tools.sh)
        : undefined,
    cgroups: cgroupsOn ? new Cgroups(CGROUP_ROOT, config.prefix) : undefined,
    images: new ImageTable(config.images),
    cluster,
    loopback: parseCidr(config.loopbackCIDR),
    rotation: {
      maxSize: options.containerLogMaxSize ?? 10 * 1024 * 1024,
      maxFiles: Math.max(2, options.containerLogMaxFiles ?? 5),
    },
    sandboxes: new Map(),
    containers: new Map(),
    outputs: new Map(),
    cpuSamples: new Map(),
    warnings: [],
  };
  if (warnings.length) logger.warn({ node: options.nodeName }, `runtime-process degraded: ${warnings.join('; ')}`);
  ctx.warnings = warnings;
  return ctx;
}

export class ProcessRuntime implements ContainerRuntime {
  readonly name = 'process';
  constructor(readonly ctx: RuntimeContext) {}

  /** Take over what an earlier runtime on this root dir left: records, running containers' output. */
  async adopt(): Promise<void> {
    const { ctx } = this;
    for (const sandbox of ctx.state.loadSandboxes()) {
      if (sandbox.state === 'ready' && sandbox.netns && !existsSync(`/run/netns/${sandbox.netns}`)) {
        sandbox.state = 'notready';
        ctx.state.saveSandbox(sandbox);
      }
      ctx.sandboxes.set(sandbox.id, sandbox);
    }
    for (const record of ctx.state.loadContainers()) {
      // The record is saved before its container's PID is known; the shim wrote it to its launcher file.
      record.pid ??= containers.containerPid(ctx.state.containerDir(record.id));
      ctx.containers.set(record.id, record);
      containers.reopenOutput(ctx, record);
    }
    if (ctx.sandboxes.size || ctx.containers.size) {
      const running = [...ctx.containers.values()].filter((c) => containers.shimAlive(c)).length;
      ctx.logger.info(
        { sandboxes: ctx.sandboxes.size, containers: ctx.containers.size, running },
        'adopted earlier state',
      );
    }
  }

  async status(): Promise<RuntimeStatus> {
    const { ctx } = this;
    return {
      runtimeReady: true,
      networkReady: ctx.networkMode === 'host' || ctx.nodeRange !== undefined,
      networkMode: ctx.networkMode,
      namespaces: ctx.isolation !== 'none',
      cgroups: ctx.cgroups !== undefined,
      warnings: ctx.warnings,
      nodeAddress: ctx.nodeRange ? this.nodeAddress() : undefined,
      clusterCIDR: ctx.cluster.text,
    };
  }

  async updateRuntimeConfig({ podCIDR }: { podCIDR: string }): Promise<void> {
    const { ctx } = this;
    const range = parseCidr(podCIDR);
    if (!contains(ctx.cluster, range)) {
      throw new RuntimeError(
        'InvalidArgument',
        `pod CIDR ${podCIDR} is not inside the cluster CIDR ${ctx.cluster.text}`,
        'give a node podCIDR inside runtime-process.clusterCIDR',
      );
    }
    if (ctx.nodeRange?.text === range.text) return;
    const used = new Set<string>();
    ctx.nodeRange = range;
    ctx.pool = new AddressPool(range, used);
    for (const s of ctx.sandboxes.values())
      if (s.state === 'ready' && s.poolAddress) ctx.pool.resumeAfter(s.poolAddress);
    if (ctx.network) {
      await this.skipStrayAddresses(range, used);
      await ctx.network.ensureNode(range);
    }
  }

  /** Addresses of this range held by namespaces no sandbox of this node owns stay unused, with a warning. */
  private async skipStrayAddresses(range: Cidr, used: Set<string>): Promise<void> {
    const { ctx } = this;
    const known = new Set([...ctx.sandboxes.values()].flatMap((s) => (s.netns ? [s.netns] : [])));
    const stray = await ctx.network!.strayAddresses(range, known);
    if (!stray.size) return;
    for (const address of stray.values()) used.add(address);
    ctx.logger.warn(
      { node: ctx.nodeName, namespaces: Object.fromEntries(stray) },
      `network namespaces no sandbox of this node owns hold addresses of its range ${range.text} ` +
        '(left by a runtime that was killed?); those addresses are not handed out. ' +
        `Remove them when nothing runs in them: ip netns del <name>, or sweep the prefix "${ctx.config.prefix}"`,
    );
  }

  async resolveImage(image: string, command?: string[]): Promise<ImageInfo> {
    const { applets: _, ...info } = this.ctx.images.resolve(image, command);
    return info;
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const { ctx } = this;
    if (!config?.metadata?.name || !config.metadata.namespace || !config.metadata.uid) {
      throw new RuntimeError('InvalidArgument', 'a sandbox needs metadata name, namespace and uid', 'fill in metadata');
    }
    const id = randomBytes(16).toString('hex');
    const record: SandboxRecord = {
      id,
      metadata: config.metadata,
      // A host-network pod keeps the node's hostname, as upstream.
      hostname: config.hostname || (config.hostNetwork ? hostname() : config.metadata.name),
      hostNetwork: config.hostNetwork ?? false,
      ip: '',
      state: 'ready',
      createdAt: now(),
      logDirectory: config.logDirectory ?? join(ctx.state.root, 'logs', id),
      labels: config.labels ?? {},
      annotations: config.annotations ?? {},
    };
    // Off the event loop, as the containers' files (see StateDir.saveSandboxAsync).
    await mkdir(record.logDirectory, { recursive: true });
    if (record.hostNetwork) record.ip = this.nodeAddress();
    else await this.connect(record);
    await ctx.state.saveSandboxAsync(record);
    ctx.sandboxes.set(id, record);
    return id;
  }

  /** The node's own address: its gateway on the bridge (or that address's loopback twin). */
  nodeAddress(): string {
    const { ctx } = this;
    if (!ctx.nodeRange) return '127.0.0.1';
    const gateway = gatewayOf(ctx.nodeRange);
    return ctx.networkMode === 'pod' ? gateway : translate(gateway, ctx.cluster, ctx.loopback);
  }

  private async connect(record: SandboxRecord): Promise<void> {
    const { ctx } = this;
    if (!ctx.pool || !ctx.nodeRange) {
      throw new RuntimeError(
        'NetworkNotReady',
        `node "${ctx.nodeName}" has no pod CIDR yet`,
        'give the runtime the node podCIDR (updateRuntimeConfig)',
      );
    }
    const address = ctx.pool.allocate();
    record.poolAddress = address;
    if (!ctx.network) {
      record.ip = translate(address, ctx.cluster, ctx.loopback);
      return;
    }
    record.netns = ctx.network.netnsOf(record.id);
    record.veth = ctx.network.vethOf(record.id);
    try {
      await ctx.network.createSandbox(record.id, address, ctx.nodeRange);
    } catch (err) {
      ctx.pool.release(address);
      await ctx.network.removeBridgeIfUnused().catch(() => undefined);
      throw new RuntimeError('NetworkNotReady', `cannot set up the pod network: ${(err as Error).message}`);
    }
    record.ip = address;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const { ctx } = this;
    const record = ctx.sandboxes.get(id);
    if (!record) return;
    const members = [...ctx.containers.values()].filter((c) => c.sandboxId === id);
    await Promise.all(members.map((c) => containers.stopContainer(ctx, c.id, 0)));
    if (record.state === 'notready') return;
    if (ctx.network && record.netns) {
      await ctx.network.removeSandbox(id);
    }
    if (record.poolAddress) ctx.pool?.release(record.poolAddress);
    record.state = 'notready';
    ctx.state.saveSandbox(record);
    if (ctx.network && record.netns) await ctx.network.removeBridgeIfUnused();
  }

  async removePodSandbox(id: string): Promise<void> {
    const { ctx } = this;
    if (!ctx.sandboxes.has(id)) return;
    await this.stopPodSandbox(id);
    const members = [...ctx.containers.values()].filter((c) => c.sandboxId === id);
    await Promise.all(members.map((c) => containers.removeContainer(ctx, c.id)));
    const cgroups = ctx.cgroups;
    if (cgroups && !(await waitUntil(() => cgroups.removeSandbox(id), 2000))) {
      ctx.logger.warn({ sandbox: id }, 'sandbox cgroup still busy; left for sweep');
    }
    ctx.state.removeSandbox(id);
    ctx.sandboxes.delete(id);
    ctx.cpuSamples.delete(`sandbox:${id}`);
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    return sandboxStatus(sandboxOf(this.ctx, id));
  }

  async listPodSandboxes(filter: PodSandboxFilter = {}): Promise<PodSandboxStatus[]> {
    return [...this.ctx.sandboxes.values()]
      .filter((s) => (!filter.state || s.state === filter.state) && matchesLabels(s.labels, filter.labels))
      .map(sandboxStatus);
  }

  createContainer(podSandboxId: string, config: ContainerConfig): Promise<string> {
    return containers.createContainer(this.ctx, podSandboxId, config);
  }

  startContainer(id: string): Promise<void> {
    return containers.startContainer(this.ctx, id);
  }

  stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    return containers.stopContainer(this.ctx, id, timeoutSeconds);
  }

  removeContainer(id: string): Promise<void> {
    return containers.removeContainer(this.ctx, id);
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    return containers.containerStatus(this.ctx, containerOf(this.ctx, id));
  }

  async listContainers(filter: ContainerFilter = {}): Promise<ContainerStatus[]> {
    // Labels are the record's own: filter on them before reading any container's state from disk
    // (the kubelet asks for one pod's containers per sync; reading every container's is O(pods²)).
    return [...this.ctx.containers.values()]
      .filter(
        (c) => (!filter.podSandboxId || c.sandboxId === filter.podSandboxId) && matchesLabels(c.labels, filter.labels),
      )
      .map((c) => containers.containerStatus(this.ctx, c))
      .filter((s) => !filter.state || s.state === filter.state);
  }

  execSync(id: string, cmd: string[], timeoutSeconds?: number): Promise<ExecResult> {
    return streams.execSync(this.ctx, id, cmd, timeoutSeconds);
  }

  exec(id: string, cmd: string[], options: StreamOptions): Promise<StreamSession> {
    return streams.exec(this.ctx, id, cmd, options);
  }

  attach(id: string, options: StreamOptions): Promise<StreamSession> {
    return streams.attach(this.ctx, id, options);
  }

  portForward(podSandboxId: string, port: number): Promise<Duplex> {
    return streams.portForward(this.ctx, podSandboxId, port);
  }

  async containerStats(id: string): Promise<ContainerStats> {
    return stats.containerStats(this.ctx, id);
  }

  async podSandboxStats(id: string): Promise<PodSandboxStats> {
    return stats.podSandboxStats(this.ctx, id);
  }

  async close(options: { stopAll?: boolean } = {}): Promise<void> {
    const { ctx } = this;
    if (options.stopAll) {
      await Promise.all([...ctx.sandboxes.keys()].map((id) => this.removePodSandbox(id)));
      if (ctx.network) await ctx.network.removeBridgeIfUnused();
      // Shared with other nodes' runtimes of this prefix: removed only once empty.
      ctx.cgroups?.removeParent();
      removeIfEmpty(join(ctx.runDir, 'mountpoints'));
      removeIfEmpty(ctx.runDir);
    }
    for (const output of ctx.outputs.values()) output.close();
    ctx.outputs.clear();
  }
}
