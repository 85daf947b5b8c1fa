/**
 * The downward API, for environment variables and downwardAPI volumes: fieldRef (the pod's own
 * metadata, node name, service account, IPs) and resourceFieldRef (a container's requests and
 * limits, limits falling back to the node's allocatable as upstream), with upstream's formats.
 */
import type { Container, ObjectFieldSelector, Pod, ResourceFieldSelector } from 'kubernetes-types/core/v1.js';
import { parseQuantity } from 'skiff/sdk';
import type { KubeletContext } from './context.js';

export class DownwardError extends Error {}

/** Upstream's FormatMap: sorted `key="value"` lines. */
function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(map![k])}`)
    .join('\n');
}

const SUBSCRIPT = /^metadata\.(labels|annotations)\['(.+)'\]$/;

export function fieldValue(pod: Pod, ref: ObjectFieldSelector, ips: { podIP?: string; hostIP?: string }): string {
  const path = ref.fieldPath;
  const meta = pod.metadata ?? {};
  const subscript = SUBSCRIPT.exec(path);
  if (subscript) return (subscript[1] === 'labels' ? meta.labels : meta.annotations)?.[subscript[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? 'default';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return ips.hostIP ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return ips.podIP ?? '';
    default:
      throw new DownwardError(`unsupported fieldPath: ${path}`);
  }
}

function containerNamed(pod: Pod, name: string | undefined, fallback?: Container): Container | undefined {
  if (!name) return fallback;
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name);
}

/** Upstream's ExtractContainerResourceValue: ceil(value / divisor); unset limits are the node's allocatable. */
export function resourceValue(ctx: KubeletContext, pod: Pod, ref: ResourceFieldSelector, current?: Container): string {
  const container = containerNamed(pod, ref.containerName, current);
  if (!container) throw new DownwardError(`container ${ref.containerName ?? ''} not found`);
  const [kind, resource] = ref.resource.split('.', 2) as ['limits' | 'requests', string];
  const declared = container.resources?.[kind]?.[resource];
  const allocatable = (ctx.node()?.status as { allocatable?: Record<string, string> } | undefined)?.allocatable?.[
    resource
  ];
  const value = parseQuantity(declared ?? (kind === 'limits' ? allocatable : undefined) ?? '0') ?? 0n;
  const divisor = parseQuantity(ref.divisor ?? '1') || 1_000_000_000n;
  // Whole units, rounded up (a CPU limit of 250m with divisor 1 reads 1, with divisor 1m reads 250).
  return String((value + divisor - 1n) / divisor);
}

/** A downward API item (a volume file or an env var). */
export function downwardValue(
  ctx: KubeletContext,
  pod: Pod,
  item: { fieldRef?: ObjectFieldSelector; resourceFieldRef?: ResourceFieldSelector },
  current: Container | undefined,
  ips: { podIP?: string; hostIP?: string } = {},
): string {
  if (item.fieldRef) return fieldValue(pod, item.fieldRef, { hostIP: ctx.nodeIP(), ...ips });
  if (item.resourceFieldRef) return resourceValue(ctx, pod, item.resourceFieldRef, current);
  return '';
}
