/**
 * One simulated node's API side: its Node (registered with a fixed capacity, its pod range, Ready),
 * its Lease renewed every quarter of its duration, and its status written every
 * nodeStatusReportFrequency, as upstream's kubelet writes an unchanged status. It keeps only what
 * the next write needs (uids, resourceVersions, a transition time) so a thousand nodes stay small;
 * the host's one timer decides when each is due.
 */
import { createHash } from 'node:crypto';
import { release } from 'node:os';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { isStatusError, type KubeObject } from 'skiff/sdk';
import { type ApiClient, CORE_V1, nowMicroTime } from 'skiff/sdk/client';
import type { ContainerRuntime } from 'skiff/sdk/runtime';
import { KUBERNETES_VERSION } from 'skiff/sdk/wire';
import type { KubeletConfig } from '../config.js';
import type { EventRecorder } from '../events.js';
import { goArch } from '../machine.js';
import { NODE_LEASE_NAMESPACE } from '../node-lease.js';
import { KUBELET_VERSION } from '../node-status.js';

const NODES = CORE_V1('nodes');
const LEASES = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };

/** What every simulated node reports: a mid-sized machine (kubemark's hollow nodes report a fixed one too). */
export const SIMULATED_CAPACITY = Object.freeze({ cpu: '4', memory: '16Gi', ephemeralStorage: '100Gi' });
/** Upstream's default eviction-hard (memory.available<100Mi, nodefs.available<10%) taken off allocatable. */
const SIMULATED_ALLOCATABLE = Object.freeze({ cpu: '4', memory: '16284Mi', ephemeralStorage: '90Gi' });
/** The allocatable CPU and memory the kubelet's admission counts pods' requests against. */
export const SIMULATED_RESOURCES = Object.freeze({ milliCpu: 4000, memoryBytes: 16284 * 1024 * 1024 });
/** Every simulated node carries it, so a scale test can select (or avoid) them. */
export const SIMULATED_NODE_LABEL = 'sim.skiff.dev/simulated';

const stamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const uuidOf = (text: string) => {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

export class SimNode {
  nodeUid?: string;
  podCIDR?: string;
  address?: string;
  private leaseVersion?: string;
  private readySince = stamp();
  /** When the host's timer next renews the Lease and writes the status (ms since the epoch). */
  leaseDue = 0;
  statusDue = 0;
  leaseFailures = 0;
  /** Its admitted pods that have not finished: what admission counts against maxPods. */
  readonly admitted = new Set<{ readonly pod: Pod }>();
  events?: EventRecorder;

  constructor(
    readonly name: string,
    readonly runtime: ContainerRuntime,
    private readonly config: KubeletConfig,
    private readonly client: () => ApiClient,
  ) {}

  labels(): Record<string, string> {
    return {
      ...this.config.nodeLabels,
      'kubernetes.io/hostname': this.name,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': goArch(),
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': goArch(),
      [SIMULATED_NODE_LABEL]: 'true',
    };
  }

  /** Creates the Node, or takes over the one that exists (keeping its podCIDR); its Lease follows on the host's timer. */
  async register(existing: KubeObject | undefined, podCIDR: string): Promise<void> {
    const cidr = (existing?.spec as { podCIDR?: string } | undefined)?.podCIDR ?? podCIDR;
    await this.runtime.updateRuntimeConfig({ podCIDR: cidr });
    this.podCIDR = cidr;
    this.address = (await this.runtime.status()).nodeAddress;
    const node = existing
      ? await this.client().patch(NODES, '', this.name, 'merge', { status: this.status() }, { subresource: 'status' })
      : await this.client().create(NODES, '', this.initialNode());
    this.nodeUid = node.metadata.uid;
  }

  private initialNode(): KubeObject {
    const { registerWithTaints } = this.config;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.name,
        labels: this.labels(),
        annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
      },
      spec: {
        podCIDR: this.podCIDR,
        podCIDRs: [this.podCIDR],
        ...(registerWithTaints.length ? { taints: registerWithTaints } : {}),
      },
      status: this.status(),
    };
  }

  /** Upstream's node status with every condition healthy; the heartbeat time is now. */
  status(): Record<string, unknown> {
    const now = stamp();
    const since = this.readySince;
    const pods = String(this.config.maxPods);
    const condition = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: since,
    });
    const zero = { 'hugepages-1Gi': '0', 'hugepages-2Mi': '0' };
    const c = SIMULATED_CAPACITY;
    const a = SIMULATED_ALLOCATABLE;
    return {
      capacity: { cpu: c.cpu, 'ephemeral-storage': c.ephemeralStorage, ...zero, memory: c.memory, pods },
      allocatable: { cpu: a.cpu, 'ephemeral-storage': a.ephemeralStorage, ...zero, memory: a.memory, pods },
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        ...(this.address ? [{ type: 'InternalIP', address: this.address }] : []),
        { type: 'Hostname', address: this.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: uuidOf(`machine:${this.name}`).replaceAll('-', ''),
        systemUUID: uuidOf(`system:${this.name}`),
        bootID: uuidOf(`boot:${this.name}:${process.pid}`),
        kernelVersion: release(),
        osImage: 'Skiff simulated node',
        containerRuntimeVersion: `skiff-simulated://${KUBERNETES_VERSION.gitVersion.slice(1)}`,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: goArch(),
      },
    };
  }

  /** The periodic status write (heartbeat times only change): a Node deleted meanwhile is registered again. */
  async reportStatus(): Promise<void> {
    try {
      await this.client().patch(NODES, '', this.name, 'merge', { status: this.status() }, { subresource: 'status' });
    } catch (err) {
      if (!isStatusError(err) || err.code !== 404) throw err;
      this.readySince = stamp();
      const node = await this.client().create(NODES, '', this.initialNode());
      this.nodeUid = node.metadata.uid;
      this.leaseVersion = undefined;
    }
  }

  /** Renews the Lease (an update carrying the last resourceVersion); creates it when missing or stale. */
  async renewLease(): Promise<void> {
    const lease = this.leaseObject();
    if (this.leaseVersion) {
      try {
        const updated = await this.client().update(LEASES, NODE_LEASE_NAMESPACE, lease);
        this.leaseVersion = updated.metadata.resourceVersion;
        return;
      } catch (err) {
        if (!isStatusError(err) || (err.code !== 409 && err.code !== 404)) throw err;
      }
    }
    try {
      const created = await this.client().create(LEASES, NODE_LEASE_NAMESPACE, lease);
      this.leaseVersion = created.metadata.resourceVersion;
    } catch (err) {
      if (!isStatusError(err) || err.code !== 409) throw err;
      const current = await this.client().get(LEASES, NODE_LEASE_NAMESPACE, this.name);
      this.leaseVersion = current.metadata.resourceVersion;
      const updated = await this.client().update(LEASES, NODE_LEASE_NAMESPACE, this.leaseObject());
      this.leaseVersion = updated.metadata.resourceVersion;
    }
  }

  private leaseObject(): KubeObject {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.name,
        namespace: NODE_LEASE_NAMESPACE,
        ...(this.leaseVersion ? { resourceVersion: this.leaseVersion } : {}),
        ...(this.nodeUid
          ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: this.nodeUid }] }
          : {}),
      },
      spec: {
        holderIdentity: this.name,
        leaseDurationSeconds: this.config.nodeLeaseDurationSeconds,
        renewTime: nowMicroTime(),
      },
    };
  }
}
