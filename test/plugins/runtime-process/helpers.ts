/**
 * Shared set-up for runtime-process tests: a prefix and a cluster range of their own (never the
 * defaults `npm start` uses), the checks that nothing is left on the host, and polling.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerRuntime } from 'skiff/sdk/runtime';

export const rootReason = 'runtime-process tests need root (network namespaces, veths, cgroups)';
export const isRoot = process.getuid?.() === 0;

/** A prefix of 6 characters: `rt` + 4 random ones. */
export function testPrefix(): string {
  return `rt${randomBytes(3).toString('hex').slice(0, 4)}`;
}

/** A /16 in 10.200–249 that no route uses yet. */
export function freeClusterCidr(): { cluster: string; node: (n: number) => string; second: number } {
  for (let i = 0; i < 50; i++) {
    const second = 200 + Math.floor(Math.random() * 50);
    const cluster = `10.${second}.0.0/16`;
    const routes = execFileSync('ip', ['route', 'show', 'match', `10.${second}.0.1`], { encoding: 'utf8' });
    if (!routes.includes(`10.${second}.`)) return { cluster, second, node: (n) => `10.${second}.${n}.0/24` };
  }
  throw new Error('no free 10.2xx.0.0/16 range for the test');
}

export function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'skiff-rp-'));
}

/** What of this prefix is still on the host; empty when clean. */
export function leftovers(prefix: string, cluster: string): string[] {
  const found: string[] = [];
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(`${prefix}-`)) : [];
  found.push(...netns.map((n) => `netns ${n}`));
  found.push(
    ...readdirSync('/sys/class/net')
      .filter((l) => l.startsWith(prefix))
      .map((l) => `link ${l}`),
  );
  const routes = execFileSync('ip', ['route', 'show', cluster], { encoding: 'utf8' }).trim();
  if (routes) found.push(`route ${routes}`);
  for (const c of ['memory', 'cpu', 'cpuacct', 'pids']) {
    if (existsSync(`/sys/fs/cgroup/${c}/${prefix}`)) found.push(`cgroup ${c}/${prefix}`);
  }
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`/${prefix}-`));
  found.push(...mounts.map((m) => `mount ${m}`));
  if (existsSync(`/run/${prefix}-runtime/mountpoints`)) {
    found.push(`mount point references ${readdirSync(`/run/${prefix}-runtime/mountpoints`).join(' ')}`);
  }
  return found;
}

/** Processes whose command line names this root dir (shims, their namespaces' setup). */
export function processesOf(rootDir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(rootDir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A container's log so far, as text. */
export async function logOf(runtime: ContainerRuntime, id: string): Promise<string> {
  try {
    return readFileSync((await runtime.containerStatus(id)).logPath, 'utf8');
  } catch {
    return '';
  }
}

/** Until the container has exited; its status. */
export async function exitedStatus(runtime: ContainerRuntime, id: string, timeoutMs = 10_000) {
  return waitFor(
    async () => {
      const s = await runtime.containerStatus(id);
      return s.state === 'exited' ? s : undefined;
    },
    timeoutMs,
    `container ${id} to exit`,
  );
}

export const HTTP_SERVER = [
  'node',
  '-e',
  "require('http').createServer((q, s) => s.end('pod ' + require('os').hostname())).listen(8080, () => console.log('listening'))",
];

export const sandboxConfig = (name: string) => ({ metadata: { name, namespace: 'default', uid: `uid-${name}` } });
