/**
 * What upstream's kubelet learns from cAdvisor about the machine: CPU, memory, the root dir's file
 * system, identity (machine ID, boot ID, kernel, OS image) and pressure signals. Several local nodes
 * share one host, so each reports its share of the capacity.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import { arch, availableParallelism, freemem, hostname, release, totalmem } from 'node:os';

export interface MachineInfo {
  milliCpu: number;
  memoryBytes: number;
  ephemeralStorageBytes: number;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  architecture: string;
}

const MEBI = 1024 * 1024;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function osImage(): string {
  const text = readText('/etc/os-release') ?? '';
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return pretty?.[1] ?? 'Linux';
}

/** Go's GOARCH names, which node labels and nodeInfo use. */
export function goArch(nodeArch = arch()): string {
  return (
    ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as const)[
      nodeArch as 'x64'
    ] ?? nodeArch
  );
}

function fsBytes(path: string): { size: number; free: number } {
  try {
    const s = statfsSync(path);
    return { size: s.blocks * s.bsize, free: s.bavail * s.bsize };
  } catch {
    return { size: 0, free: 0 };
  }
}

/**
 * The machine as node `index` of `shares` local nodes sees it: CPU, memory and disk divided evenly
 * (whole millicores, whole MiB), identities of the host except the machine ID, which is per node
 * (as kind's nodes have their own) so tools keying on it tell the nodes apart.
 */
export function machineInfo(rootDir: string, nodeName: string, shares = 1): MachineInfo {
  const cores = availableParallelism();
  const hostId = readText('/etc/machine-id') ?? createHash('md5').update(hostname()).digest('hex');
  return {
    milliCpu: Math.floor((cores * 1000) / shares),
    memoryBytes: Math.floor(totalmem() / shares / MEBI) * MEBI,
    ephemeralStorageBytes: Math.floor(fsBytes(rootDir).size / shares / MEBI) * MEBI,
    machineID: shares > 1 ? createHash('md5').update(`${hostId}/${nodeName}`).digest('hex') : hostId,
    systemUUID: readText('/sys/class/dmi/id/product_uuid') ?? hostId,
    bootID: readText('/proc/sys/kernel/random/boot_id') ?? '',
    kernelVersion: release(),
    osImage: osImage(),
    architecture: goArch(),
  };
}

/** Upstream's default hard eviction thresholds, which allocatable is reduced by. */
export const EVICTION_HARD = { memoryAvailableBytes: 100 * MEBI, nodefsAvailableRatio: 0.1, pidAvailableRatio: 0.1 };

export interface Pressure {
  memory: boolean;
  disk: boolean;
  pid: boolean;
}

/** MemAvailable (what upstream's memory.available approximates), else MemFree. */
function availableMemory(): number {
  const kib = /^MemAvailable:\s+(\d+) kB$/m.exec(readText('/proc/meminfo') ?? '');
  return kib ? Number(kib[1]) * 1024 : freemem();
}

function processCount(): number {
  try {
    return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).length;
  } catch {
    return 0;
  }
}

/** The host's pressure signals against the eviction thresholds (shared by every local node). */
export function pressure(rootDir: string): Pressure {
  const disk = fsBytes(rootDir);
  const pidMax = Number(readText('/proc/sys/kernel/pid_max') ?? 0);
  return {
    memory: availableMemory() < EVICTION_HARD.memoryAvailableBytes,
    disk: disk.size > 0 && disk.free / disk.size < EVICTION_HARD.nodefsAvailableRatio,
    pid: pidMax > 0 && processCount() > pidMax * (1 - EVICTION_HARD.pidAvailableRatio),
  };
}
