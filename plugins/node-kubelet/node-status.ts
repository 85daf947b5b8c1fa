/**
 * Node management (the seed's 3.4.1): the kubelet registers its Node (--register-node) with
 * capacity, allocatable, addresses, nodeInfo, its labels and taints, and then reports status as
 * upstream's kubelet does: computed every --node-status-update-frequency (10 s), written when it
 * changed or every nodeStatusReportFrequency (5 min). The heartbeat itself is the Lease
 * (node-lease.ts). A kubelet that restarts finds its Node and keeps it (and its podCIDR).
 */

import type { Logger } from 'pino';
import { formatQuantity, isStatusError, type KubeObject } from 'skiff/sdk';
import { type ApiClient, CORE_V1, delay } from 'skiff/sdk/client';
import type { ContainerRuntime, RuntimeStatus } from 'skiff/sdk/runtime';
import { KUBERNETES_VERSION } from 'skiff/sdk/wire';
import { choosePodCIDR, DEFAULT_CLUSTER_CIDR } from './cidr.js';
import type { KubeletConfig } from './config.js';
import { EVICTION_HARD, goArch, type MachineInfo, machineInfo, type Pressure, pressure } from './machine.js';

const NODES = CORE_V1('nodes');
export const KUBELET_VERSION = `${KUBERNETES_VERSION.gitVersion}+skiff`;
/** The kubelet's User-Agent, in-process or as `skiff kubelet`: its field manager is "kubelet", as upstream's. */
export const KUBELET_AGENT = `kubelet/${KUBELET_VERSION}`;

export interface NodeStatusDeps {
  client: ApiClient;
  nodeName: string;
  config: KubeletConfig;
  runtime: ContainerRuntime;
  rootDir: string;
  logger: Logger;
  /** This node's index among the local nodes of `skiff up` (its preferred pod range), and their count. */
  localIndex: number;
  localCount: number;
  /** The port the kubelet's server answers on (daemonEndpoints), once it listens; 0 before. */
  kubeletPort(): number;
}

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

const stamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Upstream's node conditions, with its reasons and messages. */
function conditions(p: Pressure, runtime: RuntimeStatus): Condition[] {
  const ready = runtime.runtimeReady && runtime.networkReady;
  const notReady = !runtime.runtimeReady
    ? 'container runtime is down'
    : 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:the node has no pod CIDR yet';
  return [
    p.memory
      ? {
          type: 'MemoryPressure',
          status: 'True',
          reason: 'KubeletHasInsufficientMemory',
          message: 'kubelet has insufficient memory available',
        }
      : {
          type: 'MemoryPressure',
          status: 'False',
          reason: 'KubeletHasSufficientMemory',
          message: 'kubelet has sufficient memory available',
        },
    p.disk
      ? { type: 'DiskPressure', status: 'True', reason: 'KubeletHasDiskPressure', message: 'kubelet has disk pressure' }
      : {
          type: 'DiskPressure',
          status: 'False',
          reason: 'KubeletHasNoDiskPressure',
          message: 'kubelet has no disk pressure',
        },
    p.pid
      ? {
          type: 'PIDPressure',
          status: 'True',
          reason: 'KubeletHasInsufficientPID',
          message: 'kubelet has insufficient PID available',
        }
      : {
          type: 'PIDPressure',
          status: 'False',
          reason: 'KubeletHasSufficientPID',
          message: 'kubelet has sufficient PID available',
        },
    ready
      ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: notReady },
  ];
}

/** Keeps a condition's lastTransitionTime while its status stays; stamps the heartbeat. */
function withTimes(now: Condition[], before: Condition[] | undefined): Condition[] {
  const at = stamp();
  return now.map((c) => {
    const old = before?.find((b) => b.type === c.type);
    const transition = old && old.status === c.status ? old.lastTransitionTime : at;
    return { ...c, lastHeartbeatTime: at, lastTransitionTime: transition };
  });
}

const bytes = (n: number) => formatQuantity(BigInt(n) * 1_000_000_000n, 'BinarySI');
const millis = (m: number) => formatQuantity(BigInt(m) * 1_000_000n, 'DecimalSI');

export class NodeStatusManager {
  /** The Node as last written or read. */
  node?: KubeObject;
  podCIDR?: string;
  private machine: MachineInfo;
  private lastReport = 0;
  private lastReported = '';

  constructor(private readonly deps: NodeStatusDeps) {
    this.machine = machineInfo(deps.rootDir, deps.nodeName, deps.localCount);
  }

  /** The resources pods may use here (status.allocatable), as numbers for admission. */
  allocatable(): { milliCpu: number; memoryBytes: number; pods: number } {
    const { machine } = this;
    return {
      milliCpu: machine.milliCpu,
      memoryBytes: Math.max(0, machine.memoryBytes - EVICTION_HARD.memoryAvailableBytes),
      pods: this.deps.config.maxPods,
    };
  }

  /** Registers the node (retrying until the API answers or `signal` aborts); gives the runtime its pod range. */
  async register(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        await this.tryRegister();
        return;
      } catch (err) {
        if (signal.aborted) return;
        if (attempt % 10 === 0) this.deps.logger.warn({ err }, 'unable to register node with the API server; retrying');
        await delay(Math.min(7000, 200 * 2 ** attempt), signal);
      }
    }
  }

  private async tryRegister(): Promise<void> {
    const { client, config } = this.deps;
    const existing = await this.read();
    this.podCIDR = podCIDROf(existing) ?? config.podCIDR ?? (await this.derivePodCIDR());
    if (this.podCIDR) await this.deps.runtime.updateRuntimeConfig({ podCIDR: this.podCIDR });
    if (!config.registerNode) {
      this.node = existing;
      if (existing) await this.report(true);
      return;
    }
    if (!existing) {
      try {
        this.node = await client.create(NODES, '', await this.initialNode());
        this.deps.logger.info({ podCIDR: this.podCIDR }, 'node registered');
      } catch (err) {
        if (!isStatusError(err) || err.code !== 409) throw err;
        this.node = await this.reconcileExisting((await this.read())!);
      }
    } else {
      this.node = await this.reconcileExisting(existing);
      this.deps.logger.info({ podCIDR: this.podCIDR }, 'node was already registered');
    }
    await this.report(true);
  }

  private async read(): Promise<KubeObject | undefined> {
    try {
      return await this.deps.client.get(NODES, '', this.deps.nodeName);
    } catch (err) {
      if (isStatusError(err) && err.code === 404) return undefined;
      throw err;
    }
  }

  /** A /24 of the runtime's cluster range no other Node names, this node's index first. */
  private async derivePodCIDR(): Promise<string | undefined> {
    const status = await this.deps.runtime.status();
    const nodes = await this.deps.client.list(NODES, '');
    const taken = new Set(
      nodes.items.filter((n) => n.metadata.name !== this.deps.nodeName).flatMap((n) => podCIDROf(n) ?? []),
    );
    return choosePodCIDR(status.clusterCIDR ?? DEFAULT_CLUSTER_CIDR, taken, this.deps.localIndex);
  }

  /** Upstream keeps an existing Node, reconciling only its default labels (and, here, an empty podCIDR). */
  private async reconcileExisting(node: KubeObject): Promise<KubeObject> {
    const labels = { ...node.metadata.labels, ...this.defaultLabels() };
    const spec = (node.spec ?? {}) as Record<string, unknown>;
    const labelsChanged = JSON.stringify(labels) !== JSON.stringify({ ...node.metadata.labels });
    const cidrMissing = !spec.podCIDR && this.podCIDR;
    if (!labelsChanged && !cidrMissing) return node;
    const patch: Record<string, unknown> = { metadata: { labels } };
    if (cidrMissing) patch.spec = { podCIDR: this.podCIDR, podCIDRs: [this.podCIDR] };
    return this.deps.client.patch(NODES, '', this.deps.nodeName, 'merge', patch);
  }

  /** kubelet_node_status.go's default labels. */
  private defaultLabels(): Record<string, string> {
    return {
      'kubernetes.io/hostname': this.deps.nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': goArch(),
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': goArch(),
    };
  }

  private async initialNode(): Promise<KubeObject> {
    const { config } = this.deps;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.deps.nodeName,
        labels: { ...config.nodeLabels, ...this.defaultLabels() },
        annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      },
      spec: {
        ...(this.podCIDR ? { podCIDR: this.podCIDR, podCIDRs: [this.podCIDR] } : {}),
        ...(config.registerWithTaints.length ? { taints: config.registerWithTaints } : {}),
      },
      status: await this.status(),
    };
  }

  /** The status as computed now. */
  async status(): Promise<Record<string, unknown>> {
    const { machine } = this;
    const runtime = await this.deps.runtime.status();
    const before = (this.node?.status as { conditions?: Condition[] } | undefined)?.conditions;
    const pods = String(this.deps.config.maxPods);
    const zero = { 'hugepages-1Gi': '0', 'hugepages-2Mi': '0' };
    const allocatable = this.allocatable();
    return {
      capacity: {
        cpu: millis(machine.milliCpu),
        'ephemeral-storage': bytes(machine.ephemeralStorageBytes),
        ...zero,
        memory: bytes(machine.memoryBytes),
        pods,
      },
      allocatable: {
        cpu: millis(allocatable.milliCpu),
        'ephemeral-storage': bytes(
          Math.floor(machine.ephemeralStorageBytes * (1 - EVICTION_HARD.nodefsAvailableRatio)),
        ),
        ...zero,
        memory: bytes(allocatable.memoryBytes),
        pods,
      },
      conditions: withTimes(conditions(pressure(this.deps.rootDir), runtime), before),
      addresses: [
        ...(runtime.nodeAddress ? [{ type: 'InternalIP', address: runtime.nodeAddress }] : []),
        { type: 'Hostname', address: this.deps.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.deps.kubeletPort() } },
      nodeInfo: {
        machineID: machine.machineID,
        systemUUID: machine.systemUUID,
        bootID: machine.bootID,
        kernelVersion: machine.kernelVersion,
        osImage: machine.osImage,
        containerRuntimeVersion: `skiff-${this.deps.runtime.name}://${KUBERNETES_VERSION.gitVersion.slice(1)}`,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: machine.architecture,
      },
    };
  }

  /**
   * Writes the status when it changed (heartbeat times aside), or when the report period has
   * passed, or when `force`d; returns whether it wrote.
   */
  async report(force = false): Promise<boolean> {
    // Without --register-node no Node is created, but one an administrator made is kept up to date, as upstream.
    if (!this.deps.config.registerNode && !this.node) {
      this.node = await this.read();
      if (!this.node) return false;
    }
    const status = await this.status();
    const comparable = JSON.stringify(status, (k, v) => (k.endsWith('HeartbeatTime') ? undefined : v));
    const due = Date.now() - this.lastReport >= this.deps.config.nodeStatusReportFrequency * 1000;
    if (!force && !due && comparable === this.lastReported) return false;
    this.node = await this.deps.client.patch(
      NODES,
      '',
      this.deps.nodeName,
      'merge',
      { status },
      { subresource: 'status' },
    );
    this.lastReport = Date.now();
    this.lastReported = comparable;
    return true;
  }

  /** Until `signal` aborts: status every nodeStatusUpdateFrequency; a missing Node is registered again. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await delay(this.deps.config.nodeStatusUpdateFrequency * 1000, signal);
      if (signal.aborted) return;
      try {
        await this.report();
        const cidr = podCIDROf(this.node);
        if (cidr && cidr !== this.podCIDR) await this.adoptPodCIDR(cidr);
      } catch (err) {
        if (isStatusError(err) && err.code === 404) await this.register(signal);
        else this.deps.logger.warn({ err }, 'error updating node status; will retry');
      }
    }
  }

  /** A controller (node IPAM) set node.spec.podCIDR: the runtime takes it. */
  private async adoptPodCIDR(cidr: string): Promise<void> {
    this.deps.logger.info({ podCIDR: cidr }, 'node pod CIDR changed');
    this.podCIDR = cidr;
    await this.deps.runtime.updateRuntimeConfig({ podCIDR: cidr });
  }
}

function podCIDROf(node: KubeObject | undefined): string | undefined {
  const spec = (node?.spec ?? {}) as { podCIDR?: string };
  return spec.podCIDR || undefined;
}
