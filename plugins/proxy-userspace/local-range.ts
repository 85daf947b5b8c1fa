/**
 * The service range made local to this host (DESIGN.md "Networking on one machine"): one route,
 * `local <range> dev lo table local`, for as long as any proxy using it runs. Every address of the
 * range is then this host's own: a proxy can listen on any ClusterIP, a pod reaches it through its
 * default route to its node's gateway on the host, and a packet for an unused ClusterIP is
 * answered by the host (a reset), never handed to a gateway.
 *
 * Several proxies may share the range (several `skiff up`/`skiff proxy` on one machine): each
 * holds it with a file named after its process (and that process's start time, which a reused PID
 * cannot fake) under /run/skiff-service-ranges/<range>/, and the last holder still alive removes
 * the route. A range inside 127.0.0.0/8 needs no route (loopback is local already), but pods in
 * their own network namespaces cannot reach it.
 *
 * The route is refused when it would shadow anything this host routes or owns inside the range (a
 * real network, the pod range, an interface's address): the local table is read before the main
 * one, so the route would silently capture that traffic.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SkiffError } from 'skiff/sdk';
import { type Cidr, isLoopbackRange, overlaps, parseCidr } from './cidr.js';

export const HOLDERS_DIR = '/run/skiff-service-ranges';

const SEARCH = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

function ipTool(): string | undefined {
  return SEARCH.map((d) => join(d, 'ip')).find((p) => existsSync(p));
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** A process's start time (field 22 of /proc/<pid>/stat); undefined when it is gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

interface RouteEntry {
  dst: string;
  type?: string;
  dev?: string;
  table?: string;
}

/** The route as `ip route` prints its key: what this module adds and removes. */
export function routeArgs(range: Cidr): string[] {
  return ['local', range.text, 'dev', 'lo', 'table', 'local'];
}

let holderSequence = 0;

export class LocalServiceRange {
  readonly range: Cidr;
  private holder?: string;

  constructor(cidr: string) {
    const range = parseCidr(cidr);
    if (!range || range.prefix < 8) {
      throw new SkiffError(
        'SKIFF_PROXY_BAD_SERVICE_RANGE',
        `"${cidr}" is not an IPv4 service range of at least /8`,
        "give the API server's --service-cluster-ip-range, e.g. 10.96.0.0/16",
      );
    }
    this.range = range;
  }

  /** Whether the range is loopback (always local) rather than made local by a route. */
  get loopback(): boolean {
    return isLoopbackRange(this.range);
  }

  private get dir(): string {
    return join(HOLDERS_DIR, this.range.text.replace('/', '_'));
  }

  /** Makes the range local (idempotent); throws a SkiffError when it may not or cannot. */
  async acquire(): Promise<void> {
    if (this.loopback || this.holder) return;
    const ip = ipTool();
    if (!ip || process.getuid?.() !== 0) {
      throw new SkiffError(
        'SKIFF_PROXY_RANGE_NOT_LOCAL',
        `the service range ${this.range.text} can only be made local to this host by root (a route in the local table)`,
        'run as root, or use a service range inside 127.0.0.0/8 (reachable from the host only, not from pods in their own network namespaces)',
      );
    }
    await this.refuseShadowing(ip);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const holder = join(this.dir, `${process.pid}-${++holderSequence}`);
    writeFileSync(holder, startTime(process.pid) ?? '');
    this.holder = holder;
    await run(ip, ['route', 'replace', ...routeArgs(this.range)]);
  }

  /** Gives the range up; the route goes when no live holder is left. */
  async release(): Promise<void> {
    if (!this.holder) return;
    rmSync(this.holder, { force: true });
    this.holder = undefined;
    if (liveHolders(this.dir).length > 0) return;
    const ip = ipTool();
    if (ip && (await this.routed(ip))) await run(ip, ['route', 'del', ...routeArgs(this.range)]);
    try {
      rmdirSync(this.dir);
    } catch {}
  }

  /** Whether our route is in the local table now. */
  async routed(ip = ipTool()): Promise<boolean> {
    if (!ip) return false;
    const out = await run(ip, ['-j', 'route', 'show', 'table', 'local', this.range.text]);
    return (JSON.parse(out || '[]') as RouteEntry[]).some((r) => r.type === 'local' && r.dev === 'lo');
  }

  private async refuseShadowing(ip: string): Promise<void> {
    const routes = JSON.parse((await run(ip, ['-j', 'route', 'show', 'table', 'all'])) || '[]') as RouteEntry[];
    for (const route of routes) {
      const dst = route.dst === 'default' ? undefined : parseCidr(route.dst);
      if (!dst || dst.prefix < this.range.prefix || !overlaps(dst, this.range)) continue;
      if (route.type === 'local' && route.dev === 'lo' && dst.text === this.range.text) continue;
      if (route.type === 'broadcast' || route.type === 'multicast') continue;
      throw new SkiffError(
        'SKIFF_PROXY_RANGE_IN_USE',
        `the service range ${this.range.text} overlaps ${route.dst}${route.dev ? ` (dev ${route.dev})` : ''}, which this host already routes or owns`,
        "choose a service range no network of this host uses (the API server's --service-cluster-ip-range, and the proxy's)",
      );
    }
  }
}

/** Holder files whose process still runs; the others (a proxy killed with -9) are removed. */
function liveHolders(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((name) => {
    const pid = Number(name.split('-')[0]);
    const recorded = readFileSync(join(dir, name), 'utf8');
    if (Number.isInteger(pid) && startTime(pid) === recorded) return true;
    rmSync(join(dir, name), { force: true });
    return false;
  });
}
