/**
 * Remove everything runtime-process made on this host under a prefix, with or without a runtime
 * open: processes (found through the prefix's cgroups, the sandboxes' network namespaces and the
 * shims of the given root dirs), network namespaces, veths, the bridge (and with it the cluster
 * route and gateway addresses), cgroups, created mount points, and the root dirs themselves.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROLLERS, removeTree } from './cgroups.js';
import { type ProcessRuntimeConfig, processRuntimeConfig } from './config.js';
import { findTools, run } from './host.js';
import { releaseAllMountPoints } from './mounts.js';
import { listNetns, networkNames } from './network.js';
import { alive, waitUntil } from './proc.js';

export interface SweepReport {
  processes: number;
  namespaces: string[];
  links: string[];
}

export async function sweepProcessRuntime(
  config: Partial<ProcessRuntimeConfig>,
  rootDirs: string[] = [],
): Promise<SweepReport> {
  const { prefix, bridge } = processRuntimeConfig.parse(config);
  const names = networkNames(prefix, bridge);
  const tools = findTools();
  const cgroupRoot = '/sys/fs/cgroup';
  const pids = new Set<number>([
    ...cgroupPids(join(cgroupRoot, 'pids', prefix)),
    ...(await netnsPids(tools.ip, names.netnsPrefix)),
    ...shimPids(rootDirs),
  ]);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  await waitUntil(() => [...pids].every((pid) => !alive(pid)), 5000);
  const namespaces = listNetns(names.netnsPrefix);
  const links = linksWithPrefix(names.vethPrefix);
  if (linksWithPrefix(names.bridge).includes(names.bridge)) links.push(names.bridge);
  if (tools.ip) {
    const lines = [...links.map((l) => `link del ${l}`), ...namespaces.map((n) => `netns del ${n}`)];
    // Deleting the bridge also drops the cluster route and the gateway addresses.
    if (lines.length) await run(tools.ip, ['-force', '-batch', '-'], `${lines.join('\n')}\n`).catch(() => undefined);
  }
  for (const c of CONTROLLERS) await waitUntil(() => removeTree(join(cgroupRoot, c, prefix)), 2000);
  releaseAllMountPoints(`/run/${prefix}-runtime`);
  rmSync(`/run/${prefix}-runtime`, { recursive: true, force: true });
  for (const dir of rootDirs) rmSync(dir, { recursive: true, force: true });
  return { processes: pids.size, namespaces, links };
}

function linksWithPrefix(prefix: string): string[] {
  try {
    return readdirSync('/sys/class/net').filter((l) => l.startsWith(prefix));
  } catch {
    return [];
  }
}

function cgroupPids(dir: string): number[] {
  try {
    const own = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    const below = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => cgroupPids(join(dir, e.name)));
    return [...own, ...below];
  } catch {
    return [];
  }
}

async function netnsPids(ip: string | undefined, prefix: string): Promise<number[]> {
  if (!ip) return [];
  const out: number[] = [];
  for (const ns of listNetns(prefix)) {
    const text = await run(ip, ['netns', 'pids', ns]).catch(() => '');
    out.push(...text.split('\n').filter(Boolean).map(Number));
  }
  return out;
}

/** Shims (and what they run) of the given root dirs, found by their command line. */
function shimPids(rootDirs: string[]): number[] {
  if (!rootDirs.length) return [];
  const marks = rootDirs.map((d) => `${join(d, 'containers')}/`);
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (marks.some((m) => cmdline.includes(m))) out.push(Number(entry));
    } catch {}
  }
  return out;
}
