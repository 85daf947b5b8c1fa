/**
 * /stats/summary in upstream's shape (k8s.io/kubelet/pkg/apis/stats/v1alpha1 Summary), built from
 * a sample of the stats provider: the node (its system containers "kubelet" and "pods", CPU,
 * memory, network, the root dir's file system, the runtime's image file system, rlimit) and each
 * running pod (its containers with rootfs and logs, CPU, memory, network, volumes,
 * ephemeral-storage, process count). Fields Skiff cannot know are left out, as upstream omits
 * what it lacks (omitempty).
 */
import type { ContainerStats } from 'skiff/sdk/runtime';
import type { FsUsage, HostMemory } from './host.js';
import type { CpuSample, PodSample, Sample, VolumeSample } from './provider.js';

type Json = Record<string, unknown>;

/** RFC 3339 with second precision, as metav1.Time marshals. */
export const rfc3339 = (d: Date | string) => new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');

const cpu = (time: string, c: CpuSample): Json => ({
  time,
  ...(c.usageNanoCores !== undefined ? { usageNanoCores: c.usageNanoCores } : {}),
  usageCoreNanoSeconds: c.usageCoreNanoSeconds,
});

function fs(time: string, usage: FsUsage | undefined, usedBytes?: number, inodesUsed?: number): Json {
  if (!usage) return { time, ...(usedBytes !== undefined ? { usedBytes } : {}) };
  return {
    time,
    availableBytes: usage.availableBytes,
    capacityBytes: usage.capacityBytes,
    usedBytes: usedBytes ?? usage.usedBytes,
    inodesFree: usage.inodesFree,
    inodes: usage.inodes,
    inodesUsed: inodesUsed ?? usage.inodesUsed,
  };
}

function nodeMemory(time: string, m: HostMemory): Json {
  return {
    time,
    availableBytes: m.availableBytes,
    usageBytes: m.usageBytes,
    workingSetBytes: m.workingSetBytes,
    rssBytes: m.rssBytes,
    pageFaults: m.pageFaults,
    majorPageFaults: m.majorPageFaults,
  };
}

function memory(
  time: string,
  m: { usageBytes: number; workingSetBytes: number; rssBytes: number; limitBytes?: number },
): Json {
  return {
    time,
    ...(m.limitBytes ? { availableBytes: Math.max(0, m.limitBytes - m.workingSetBytes) } : {}),
    usageBytes: m.usageBytes,
    workingSetBytes: m.workingSetBytes,
    rssBytes: m.rssBytes,
  };
}

function nodeSummary(sample: Sample, nodeName: string): Json {
  const time = rfc3339(sample.time);
  const { node } = sample;
  const [first, ...rest] = node.interfaces;
  const podsCpu = sample.pods.reduce((t, p) => t + p.cpu.usageCoreNanoSeconds, 0);
  const podsNano = sample.pods.reduce((t, p) => t + (p.cpu.usageNanoCores ?? 0), 0);
  const podsMemory = (f: (p: PodSample) => number) => sample.pods.reduce((t, p) => t + f(p), 0);
  return {
    nodeName,
    systemContainers: [
      {
        name: 'kubelet',
        startTime: rfc3339(node.kubelet.startTime),
        cpu: cpu(time, node.kubelet.cpu),
        memory: {
          time,
          usageBytes: node.kubelet.rssBytes,
          workingSetBytes: node.kubelet.rssBytes,
          rssBytes: node.kubelet.rssBytes,
        },
      },
      {
        name: 'pods',
        startTime: rfc3339(node.startTime),
        cpu: cpu(time, { usageCoreNanoSeconds: podsCpu, usageNanoCores: podsNano }),
        memory: {
          time,
          availableBytes: Math.max(0, node.memory.capacityBytes - podsMemory((p) => p.sandbox.memory.workingSetBytes)),
          usageBytes: podsMemory((p) => p.sandbox.memory.usageBytes),
          workingSetBytes: podsMemory((p) => p.sandbox.memory.workingSetBytes),
          rssBytes: podsMemory((p) => p.sandbox.memory.rssBytes),
        },
      },
    ],
    startTime: rfc3339(node.startTime),
    cpu: cpu(time, node.cpu),
    memory: nodeMemory(time, node.memory),
    network: {
      time,
      ...(first ? first : {}),
      interfaces: first ? [first, ...rest] : [],
    },
    fs: fs(time, node.fs),
    runtime: { imageFs: fs(time, node.imageFs, node.imageFs?.runtimeUsedBytes) },
    rlimit: { time, maxpid: node.rlimit.maxpid, curproc: node.rlimit.curproc },
  };
}

function containerSummary(time: string, c: PodSample['containers'][number], nodeFs: FsUsage | undefined): Json {
  const stats: ContainerStats = c.stats;
  return {
    name: c.name,
    startTime: rfc3339(c.startTime),
    cpu: cpu(time, c.cpu),
    memory: memory(time, stats.memory),
    rootfs: fs(time, nodeFs, stats.writableUsedBytes, 0),
    logs: fs(time, nodeFs, stats.logsUsedBytes, 0),
  };
}

/** emptyDir on disk, configMap and downwardAPI count against ephemeral-storage (upstream's ephemeral volumes). */
const EPHEMERAL = new Set(['kubernetes.io~empty-dir', 'kubernetes.io~configmap', 'kubernetes.io~downward-api']);

function volumeSummary(time: string, v: VolumeSample): Json {
  return { ...fs(time, v.fs, v.usedBytes, v.inodesUsed), name: v.name };
}

function podSummary(time: string, p: PodSample, nodeFs: FsUsage | undefined): Json {
  const containers = p.containers.map((c) => containerSummary(time, c, nodeFs));
  const containerBytes = p.containers.reduce((t, c) => t + c.stats.writableUsedBytes + c.stats.logsUsedBytes, 0);
  const ephemeral = p.volumes.filter((v) => EPHEMERAL.has(v.plugin) && !v.fs?.memoryBacked);
  const volumeBytes = ephemeral.reduce((t, v) => t + v.usedBytes, 0);
  const net = p.sandbox.network;
  return {
    podRef: { name: p.name, namespace: p.namespace, uid: p.uid },
    startTime: rfc3339(p.startTime),
    containers,
    cpu: cpu(time, p.cpu),
    memory: memory(time, p.sandbox.memory),
    ...(net
      ? {
          network: {
            time,
            name: net.interfaceName,
            rxBytes: net.rxBytes,
            txBytes: net.txBytes,
            interfaces: [{ name: net.interfaceName, rxBytes: net.rxBytes, txBytes: net.txBytes }],
          },
        }
      : {}),
    volume: p.volumes.map((v) => volumeSummary(time, v)),
    'ephemeral-storage': fs(time, nodeFs, containerBytes + volumeBytes, 0),
    process_stats: { process_count: p.sandbox.processCount },
  };
}

/** The Summary; `onlyCpuAndMemory` (upstream's only_cpu_and_memory=true) keeps just CPU and memory. */
export function buildSummary(sample: Sample, nodeName: string, onlyCpuAndMemory = false): Json {
  const time = rfc3339(sample.time);
  const node = nodeSummary(sample, nodeName);
  const pods = sample.pods.map((p) => podSummary(time, p, sample.node.fs));
  if (!onlyCpuAndMemory) return { node, pods };
  const keep = (o: Json, keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => keys.includes(k)));
  return {
    node: keep(node, ['nodeName', 'systemContainers', 'startTime', 'cpu', 'memory']),
    pods: pods.map((p) => ({
      ...keep(p, ['podRef', 'startTime', 'cpu', 'memory']),
      containers: (p.containers as Json[]).map((c) => keep(c, ['name', 'startTime', 'cpu', 'memory'])),
    })),
  };
}

/** /stats/: the machine as cAdvisor's root ContainerInfo ("/"), with the recent samples (the seed's /stats/ example). */
export function rootContainerInfo(samples: Sample[], nodeName: string): Json {
  const last = samples.at(-1);
  return {
    name: '/',
    aliases: [nodeName],
    namespace: '',
    spec: {
      creation_time: last ? last.node.startTime.toISOString() : new Date().toISOString(),
      has_cpu: true,
      has_memory: true,
      memory: { limit: last?.node.memory.capacityBytes ?? 0 },
      has_network: true,
      has_filesystem: true,
    },
    stats: samples.map((s) => ({
      timestamp: s.time.toISOString(),
      cpu: { usage: { total: s.node.cpu.usageCoreNanoSeconds } },
      memory: {
        usage: s.node.memory.usageBytes,
        working_set: s.node.memory.workingSetBytes,
        rss: s.node.memory.rssBytes,
        failcnt: 0,
      },
      network: {
        interfaces: s.node.interfaces.map((i) => ({
          name: i.name,
          rx_bytes: i.rxBytes,
          rx_errors: i.rxErrors,
          tx_bytes: i.txBytes,
          tx_errors: i.txErrors,
        })),
      },
      filesystem: s.node.fs
        ? [
            {
              device: '/',
              capacity: s.node.fs.capacityBytes,
              usage: s.node.fs.usedBytes,
              available: s.node.fs.availableBytes,
            },
          ]
        : [],
    })),
  };
}
