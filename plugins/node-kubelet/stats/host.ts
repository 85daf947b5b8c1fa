/**
 * The machine as cAdvisor's root container reports it, read from /proc and statfs: cumulative CPU
 * time, memory (usage, working set, RSS, page faults), network interfaces, a file system, process
 * counts, and the kubelet's own process. Several local nodes of `skiff up` share one host, so they
 * report the same machine, as kind's nodes on one laptop do.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, statfsSync } from 'node:fs';
import { join } from 'node:path';

/** USER_HZ, the unit of /proc CPU times (100 wherever Node runs on Linux). */
const TICK_NS = 10_000_000;

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export interface HostCpu {
  /** Cumulative busy time of every CPU, nanoseconds. */
  usageCoreNanoSeconds: number;
}

/** /proc/stat's first line: every CPU's user, nice, system, irq, softirq and steal time. */
export function hostCpu(): HostCpu {
  const line = read('/proc/stat').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return { usageCoreNanoSeconds: busy * TICK_NS };
}

/** When the machine booted (the root container's start time). */
export function bootTime(): Date {
  const m = /^btime (\d+)$/m.exec(read('/proc/stat'));
  return new Date(m ? Number(m[1]) * 1000 : Date.now());
}

export interface HostMemory {
  capacityBytes: number;
  usageBytes: number;
  workingSetBytes: number;
  rssBytes: number;
  availableBytes: number;
  pageFaults: number;
  majorPageFaults: number;
}

function kib(text: string, key: string): number {
  const m = new RegExp(`^${key.replace(/[()]/g, '\\$&')}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

/** /proc/meminfo as cAdvisor's root cgroup would count it: usage without free pages, working set without inactive file pages. */
export function hostMemory(): HostMemory {
  const info = read('/proc/meminfo');
  const total = kib(info, 'MemTotal');
  const usage = total - kib(info, 'MemFree');
  const workingSet = Math.max(0, usage - kib(info, 'Inactive(file)'));
  const vmstat = read('/proc/vmstat');
  const counter = (key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(vmstat)?.[1] ?? 0);
  return {
    capacityBytes: total,
    usageBytes: usage,
    workingSetBytes: workingSet,
    rssBytes: kib(info, 'AnonPages'),
    availableBytes: Math.max(0, total - workingSet),
    pageFaults: counter('pgfault'),
    majorPageFaults: counter('pgmajfault'),
  };
}

export interface InterfaceCounters {
  name: string;
  rxBytes: number;
  rxErrors: number;
  txBytes: number;
  txErrors: number;
}

/** Whether a link is a device of the machine (not lo, a bridge, a veth or another virtual link). */
function isDevice(name: string): boolean {
  try {
    readlinkSync(`/sys/class/net/${name}/device`);
    return true;
  } catch {
    return false;
  }
}

/** /proc/net/dev: the machine's devices (every link but lo when it has none, as in some containers). */
export function hostInterfaces(): InterfaceCounters[] {
  const rows = read('/proc/net/dev')
    .split('\n')
    .slice(2)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name, rest] = line.split(':') as [string, string];
      const f = rest.trim().split(/\s+/).map(Number);
      return { name: name.trim(), rxBytes: f[0]!, rxErrors: f[2]!, txBytes: f[8]!, txErrors: f[10]! };
    });
  const devices = rows.filter((r) => isDevice(r.name));
  return devices.length ? devices : rows.filter((r) => r.name !== 'lo');
}

export interface FsUsage {
  capacityBytes: number;
  availableBytes: number;
  usedBytes: number;
  inodes: number;
  inodesFree: number;
  inodesUsed: number;
  /** tmpfs (a memory-backed emptyDir, a secret): not ephemeral storage. */
  memoryBacked: boolean;
}

const TMPFS_MAGIC = 0x01021994;

/** statfs of the file system holding `path` (used = capacity - free, as cAdvisor reports it). */
export function fsUsage(path: string): FsUsage | undefined {
  try {
    const s = statfsSync(path);
    return {
      capacityBytes: s.blocks * s.bsize,
      availableBytes: s.bavail * s.bsize,
      usedBytes: (s.blocks - s.bfree) * s.bsize,
      inodes: s.files,
      inodesFree: s.ffree,
      inodesUsed: s.files - s.ffree,
      memoryBacked: s.type === TMPFS_MAGIC,
    };
  } catch {
    return undefined;
  }
}

/**
 * Bytes and inodes under a directory (what upstream's `du` volume metrics report), without
 * following symlinks and with a bound on the entries walked so a huge volume costs bounded time.
 */
export function diskUsage(dir: string, limit = 20_000): { bytes: number; inodes: number } {
  let bytes = 0;
  let inodes = 0;
  const pending = [dir];
  while (pending.length && inodes < limit) {
    const current = pending.pop()!;
    let names: string[];
    try {
      names = readdirSync(current);
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(current, name);
      try {
        const s = lstatSync(path, { throwIfNoEntry: false });
        if (!s) continue;
        inodes++;
        bytes += s.blocks * 512;
        if (s.isDirectory()) pending.push(path);
      } catch {}
    }
  }
  return { bytes, inodes };
}

/** rlimit in the Summary: the PID limit and how many processes exist. */
export function processLimits(): { maxpid: number; curproc: number } {
  const total = /\d+\/(\d+)/.exec(read('/proc/loadavg'))?.[1];
  return { maxpid: Number(read('/proc/sys/kernel/pid_max').trim() || 0), curproc: Number(total ?? 0) };
}

/** The kubelet's own process (the "kubelet" system container): CPU time and resident memory. */
export function selfProcess(): { usageCoreNanoSeconds: number; rssBytes: number; startTime: Date } {
  const usage = process.cpuUsage();
  return {
    usageCoreNanoSeconds: (usage.user + usage.system) * 1000,
    rssBytes: process.memoryUsage.rss(),
    startTime: new Date(Date.now() - process.uptime() * 1000),
  };
}
