/**
 * cgroup v1: one group per container under `<controller>/<prefix>/<sandbox12>/<container12>` in
 * the memory, cpu, cpuacct and pids hierarchies. Limits are written before the container's first
 * process joins; the kernel then enforces them (a container over its memory limit is OOM-killed).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LinuxResources } from 'skiff/sdk/runtime';

export const CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids'] as const;
type Controller = (typeof CONTROLLERS)[number];

/** memory.limit_in_bytes reads this (or more) when there is no limit. */
const UNLIMITED = 2 ** 62;

export class Cgroups {
  constructor(
    readonly root: string,
    /** `<prefix>`: every group of this runtime lies below it. */
    readonly parent: string,
  ) {}

  /** Whether every controller is mounted (v1) and writable here. */
  static usable(root: string, parent: string): boolean {
    try {
      for (const c of CONTROLLERS) mkdirSync(join(root, c, parent), { recursive: true });
      return true;
    } catch {
      return false;
    }
  }

  path(controller: Controller, group: string): string {
    return join(this.root, controller, this.parent, group);
  }

  /** `sandbox12/container12` */
  static group(sandboxId: string, containerId: string): string {
    return `${sandboxId.slice(0, 12)}/${containerId.slice(0, 12)}`;
  }

  /**
   * The group in every hierarchy, with its limits. Off the event loop: making a cgroup is kernel
   * work of a millisecond or more, and the containers of pods that start together wait in line.
   */
  async create(group: string, resources: LinuxResources = {}): Promise<void> {
    await Promise.all(CONTROLLERS.map((c) => mkdir(this.path(c, group), { recursive: true })));
    const write = (c: Controller, file: string, value: number) =>
      writeFile(join(this.path(c, group), file), String(value));
    if (resources.memoryLimitInBytes && resources.memoryLimitInBytes > 0) {
      await write('memory', 'memory.limit_in_bytes', resources.memoryLimitInBytes);
    }
    if (resources.cpuPeriod && resources.cpuPeriod > 0) await write('cpu', 'cpu.cfs_period_us', resources.cpuPeriod);
    if (resources.cpuQuota && resources.cpuQuota > 0) await write('cpu', 'cpu.cfs_quota_us', resources.cpuQuota);
    if (resources.cpuShares && resources.cpuShares > 0) await write('cpu', 'cpu.shares', resources.cpuShares);
  }

  /** The files a process writes its PID to, to join the group in every hierarchy. */
  procsFiles(group: string): string[] {
    return [...new Set(CONTROLLERS.map((c) => join(this.path(c, group), 'cgroup.procs')))];
  }

  read(controller: Controller, group: string, file: string): string | undefined {
    try {
      return readFileSync(join(this.path(controller, group), file), 'utf8');
    } catch {
      return undefined;
    }
  }

  pids(group: string): number[] {
    return (this.read('pids', group, 'cgroup.procs') ?? '').split('\n').filter(Boolean).map(Number);
  }

  /** Signal every process in the group (what is left after the main process died, or all of it). */
  kill(group: string, signal: NodeJS.Signals): void {
    for (const pid of this.pids(group)) {
      try {
        process.kill(pid, signal);
      } catch {}
    }
  }

  stats(group: string) {
    const memoryStat = parseFlat(this.read('memory', group, 'memory.stat') ?? '');
    const usageBytes = Number(this.read('memory', group, 'memory.usage_in_bytes') ?? 0);
    const limit = Number(this.read('memory', group, 'memory.limit_in_bytes') ?? UNLIMITED);
    return {
      cpuNanoseconds: Number(this.read('cpuacct', group, 'cpuacct.usage') ?? 0),
      usageBytes,
      workingSetBytes: Math.max(0, usageBytes - (memoryStat.total_inactive_file ?? 0)),
      rssBytes: memoryStat.total_rss ?? 0,
      limitBytes: limit >= UNLIMITED ? undefined : limit,
      // Processes, not threads (pids.current counts threads), as cAdvisor's process count.
      processCount: this.pids(group).length,
    };
  }

  /** Remove a group in every hierarchy, deepest first; false when a process still holds it. */
  remove(group: string): boolean {
    let removed = true;
    for (const c of CONTROLLERS) removed = removeTree(this.path(c, group)) && removed;
    return removed;
  }

  /** Remove the sandbox level (its shims may take a moment to be gone); false while busy. */
  removeSandbox(sandboxId: string): boolean {
    let removed = true;
    for (const c of CONTROLLERS)
      removed = removeTree(join(this.root, c, this.parent, sandboxId.slice(0, 12))) && removed;
    return removed;
  }

  /** The prefix level, only when empty (another node's runtime may still use it). */
  removeParent(): void {
    for (const c of CONTROLLERS) {
      try {
        rmdirSync(join(this.root, c, this.parent));
      } catch {}
    }
  }
}

export function parseFlat(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value !== undefined) out[key] = Number(value);
  }
  return out;
}

/** rmdir a cgroup and its children (cgroupfs directories hold only virtual files). */
export function removeTree(dir: string): boolean {
  if (!existsSync(dir)) return true;
  let ok = true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) ok = removeTree(join(dir, entry.name)) && ok;
  }
  try {
    rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') ok = false;
  }
  return ok;
}
