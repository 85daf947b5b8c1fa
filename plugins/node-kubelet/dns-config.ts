/**
 * A pod's /etc/resolv.conf, as upstream's kubelet makes it (pkg/kubelet/network/dns) from the pod's
 * dnsPolicy and dnsConfig and the kubelet's --cluster-dns/--cluster-domain: ClusterFirst (the
 * default; for hostNetwork pods only ClusterFirstWithHostNet) asks the cluster DNS with the search
 * path `<ns>.svc.<domain> svc.<domain> <domain>` then the host's, and `ndots:5`; Default uses
 * the host's file; None only dnsConfig. Without --cluster-dns, ClusterFirst falls back to
 * Default, as upstream. The file is written in the pod's directory and bind-mounted at
 * /etc/resolv.conf, only where containers have their own mount namespace (else it would cover
 * the host's own file).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Mount } from 'skiff/sdk/runtime';
import { type KubeletContext, podDir } from './context.js';

const RESOLV_CONF = '/etc/resolv.conf';
/** upstream's validation.MaxDNSNameservers. */
const MAX_NAMESERVERS = 3;

interface Resolv {
  nameservers: string[];
  searches: string[];
  options: string[];
}

export function parseResolvConf(text: string): Resolv {
  const out: Resolv = { nameservers: [], searches: [], options: [] };
  for (const line of text.split('\n')) {
    const [key, ...values] = line
      .replace(/[#;].*/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && values[0]) out.nameservers.push(values[0]);
    else if (key === 'search' || key === 'domain') out.searches = values;
    else if (key === 'options') out.options.push(...values);
  }
  return out;
}

function hostResolv(): Resolv {
  try {
    return parseResolvConf(readFileSync(RESOLV_CONF, 'utf8'));
  } catch {
    return { nameservers: [], searches: [], options: [] };
  }
}

/** Options merged by name, the later value winning (upstream's mergeDNSOptions). */
function mergeOptions(base: string[], extra: { name?: string; value?: string }[]): string[] {
  const byName = new Map(base.map((o) => [o.split(':')[0]!, o]));
  for (const o of extra) if (o.name) byName.set(o.name, o.value === undefined ? o.name : `${o.name}:${o.value}`);
  return [...byName.values()];
}

/** The file's text; undefined when the pod keeps the host's file unchanged. */
export function resolvConfFor(
  pod: Pod,
  clusterDNS: string[],
  clusterDomain: string,
  host = hostResolv(),
): string | undefined {
  const spec = pod.spec ?? { containers: [] };
  let policy = spec.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'ClusterFirst' && spec.hostNetwork) policy = 'Default';
  if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
  if (policy === 'ClusterFirst' && clusterDNS.length === 0) policy = 'Default';
  if (policy === 'Default' && !spec.dnsConfig) return undefined;
  const namespace = pod.metadata?.namespace ?? 'default';
  const base: Resolv =
    policy === 'ClusterFirst'
      ? {
          nameservers: clusterDNS,
          searches: [`${namespace}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain, ...host.searches],
          options: ['ndots:5'],
        }
      : policy === 'Default'
        ? host
        : { nameservers: [], searches: [], options: [] };
  const config = spec.dnsConfig ?? {};
  const nameservers = [...new Set([...base.nameservers, ...(config.nameservers ?? [])])].slice(0, MAX_NAMESERVERS);
  const searches = [...new Set([...base.searches, ...(config.searches ?? [])])];
  const options = mergeOptions(base.options, config.options ?? []);
  const lines = nameservers.map((n) => `nameserver ${n}`);
  if (searches.length) lines.push(`search ${searches.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** A container's mounts plus its pod's resolv.conf (written at each start), unless the host's file stays. */
export async function withDnsMount(ctx: KubeletContext, pod: Pod, mounts: Mount[]): Promise<Mount[]> {
  if (mounts.some((m) => m.containerPath === RESOLV_CONF)) return mounts;
  const text = resolvConfFor(pod, ctx.config.clusterDNS, ctx.config.clusterDomain);
  if (text === undefined || !(await ctx.runtime.status()).namespaces) return mounts;
  const dir = podDir(ctx, pod.metadata?.uid ?? '');
  mkdirSync(dir, { recursive: true });
  const hostPath = join(dir, 'etc-resolv.conf');
  writeFileSync(hostPath, text);
  return [...mounts, { containerPath: RESOLV_CONF, hostPath, readonly: true }];
}
