/**
 * What isolation this host gives, decided once at open. Every degraded choice adds a sentence to
 * `warnings`, which the runtime logs as one warning at start and reports in status().
 */
import { RuntimeError } from 'skiff/sdk/runtime';
import { Cgroups } from './cgroups.js';
import type { ProcessRuntimeConfig } from './config.js';
import type { Isolation } from './context.js';
import { type HostTools, userNamespacesAllowed } from './host.js';

export const CGROUP_ROOT = '/sys/fs/cgroup';

export function chooseIsolation(
  config: ProcessRuntimeConfig,
  tools: HostTools,
  root: boolean,
  warnings: string[],
): Isolation {
  const usable = tools.unshare && tools.nsenter && tools.mount;
  const allowed: Isolation = !usable ? 'none' : root ? 'root' : userNamespacesAllowed(tools) ? 'user' : 'none';
  if (config.namespaces === true && allowed === 'none') {
    throw new RuntimeError(
      'Unavailable',
      'namespaces: true, but PID and mount namespaces are not allowed here',
      'run as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)',
    );
  }
  const isolation = config.namespaces === false ? 'none' : allowed;
  if (isolation === 'none') {
    const why = config.namespaces === false ? 'namespaces: false' : 'not root and no unprivileged user namespaces';
    warnings.push(
      `containers share the host's PID and mount namespaces (${why}), so volumes mount only at their host path`,
    );
  }
  return isolation;
}

export function chooseNetwork(
  config: ProcessRuntimeConfig,
  tools: HostTools,
  root: boolean,
  warnings: string[],
): 'pod' | 'host' {
  const allowed = root && tools.ip !== undefined && tools.nsenter !== undefined;
  if (config.network === 'pod' && !allowed) {
    throw new RuntimeError(
      'Unavailable',
      'network: pod needs root, iproute2 (ip) and nsenter',
      'run as root, or set network: auto',
    );
  }
  if (config.network !== 'host' && allowed) return 'pod';
  const why = config.network === 'host' ? 'network: host' : 'network namespaces need root';
  warnings.push(
    `pods share the host network with addresses in ${config.loopbackCIDR} (${why}); two pods cannot listen on one port of 0.0.0.0`,
  );
  return 'host';
}

export function chooseCgroups(config: ProcessRuntimeConfig, root: boolean, warnings: string[]): boolean {
  if (config.cgroups === false) return false;
  const usable = root && Cgroups.usable(CGROUP_ROOT, config.prefix);
  if (config.cgroups === true && !usable) {
    throw new RuntimeError(
      'Unavailable',
      `cgroups: true, but cgroup v1 (memory, cpu, cpuacct, pids) under ${CGROUP_ROOT} is not writable here`,
      'run as root on a cgroup v1 host, or set cgroups: auto',
    );
  }
  if (!usable) warnings.push('memory and CPU limits are not enforced (cgroup v1 not writable here)');
  return usable;
}
