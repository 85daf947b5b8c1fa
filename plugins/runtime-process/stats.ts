/**
 * Stats from cgroups (CPU, memory, process count), /proc when cgroups are off, the sandbox's veth
 * for network bytes and file sizes for logs. Nanocores are the average since the previous sample,
 * as cAdvisor computes them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { ContainerStats, CpuUsage, MemoryUsage, PodSandboxStats } from 'skiff/sdk/runtime';
import { shimAlive } from './containers.js';
import { containerOf, type RuntimeContext, sandboxOf } from './context.js';
import { vethCounters } from './network.js';
import { logBytes } from './output.js';
import { processTree } from './proc.js';
import type { ContainerRecord } from './state.js';

/** USER_HZ: what /proc/<pid>/stat counts CPU time in (100 on Linux for every architecture Node runs on). */
const TICK_NS = 10_000_000;

interface Raw {
  cpuNanoseconds: number;
  usageBytes: number;
  workingSetBytes: number;
  rssBytes: number;
  limitBytes?: number;
  processCount: number;
}

export function containerStats(ctx: RuntimeContext, id: string): ContainerStats {
  const record = containerOf(ctx, id);
  const raw = record.cgroup && ctx.cgroups ? ctx.cgroups.stats(record.cgroup) : procStats(record);
  const timestamp = Date.now();
  return {
    id,
    name: record.name,
    cpu: cpuUsage(ctx, id, timestamp, raw.cpuNanoseconds),
    memory: memoryUsage(timestamp, raw),
    logsUsedBytes: logBytes(record.logPath),
    writableUsedBytes: dirBytes(ctx.state.containerDir(id)),
    processCount: raw.processCount,
  };
}

export function podSandboxStats(ctx: RuntimeContext, id: string): PodSandboxStats {
  const sandbox = sandboxOf(ctx, id);
  const containers = [...ctx.containers.values()]
    .filter((c) => c.sandboxId === id)
    .map((c) => containerStats(ctx, c.id));
  const timestamp = Date.now();
  const sum = (f: (c: ContainerStats) => number) => containers.reduce((total, c) => total + f(c), 0);
  const counters = sandbox.veth ? vethCounters(sandbox.veth) : undefined;
  return {
    id,
    cpu: cpuUsage(
      ctx,
      `sandbox:${id}`,
      timestamp,
      sum((c) => c.cpu.usageCoreNanoSeconds),
    ),
    memory: {
      timestamp,
      usageBytes: sum((c) => c.memory.usageBytes),
      workingSetBytes: sum((c) => c.memory.workingSetBytes),
      rssBytes: sum((c) => c.memory.rssBytes),
    },
    network: counters && { timestamp, interfaceName: 'eth0', ...counters },
    processCount: sum((c) => c.processCount),
    containers,
  };
}

function cpuUsage(ctx: RuntimeContext, key: string, timestamp: number, usage: number): CpuUsage {
  const previous = ctx.cpuSamples.get(key);
  ctx.cpuSamples.set(key, { at: timestamp, usage });
  const elapsedNs = previous ? (timestamp - previous.at) * 1e6 : 0;
  const usageNanoCores =
    previous && elapsedNs > 0 ? Math.max(0, Math.round(((usage - previous.usage) / elapsedNs) * 1e9)) : undefined;
  return { timestamp, usageCoreNanoSeconds: usage, usageNanoCores };
}

function memoryUsage(timestamp: number, raw: Raw): MemoryUsage {
  return {
    timestamp,
    usageBytes: raw.usageBytes,
    workingSetBytes: raw.workingSetBytes,
    rssBytes: raw.rssBytes,
    limitBytes: raw.limitBytes,
  };
}

/** Without cgroups: the container's process tree as /proc shows it. */
function procStats(record: ContainerRecord): Raw {
  const pids = record.pid && shimAlive(record) ? processTree(record.pid) : [];
  let cpuNanoseconds = 0;
  let rssBytes = 0;
  let processCount = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpuNanoseconds += (Number(fields[11]) + Number(fields[12])) * TICK_NS;
      rssBytes += Number(fields[21]) * 4096;
      processCount++;
    } catch {}
  }
  return { cpuNanoseconds, usageBytes: rssBytes, workingSetBytes: rssBytes, rssBytes, processCount };
}

function dirBytes(dir: string): number {
  try {
    return readdirSync(dir).reduce((sum, f) => {
      try {
        const s = statSync(`${dir}/${f}`);
        return s.isFile() ? sum + s.size : sum;
      } catch {
        return sum;
      }
    }, 0);
  } catch {
    return 0;
  }
}
