/**
 * NodeRestriction for Node objects: a node writes only its own Node, never sets a configSource,
 * never changes its own taints after registering, and sets or changes only the labels kubelets may
 * (kubernetes.io/hostname, os, arch, instance type, zone and region, and the kubelet.kubernetes.io
 * and node.kubernetes.io prefixes), never node-restriction.kubernetes.io ones.
 */
import type { KubeObject } from 'skiff/sdk';

const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'node.kubernetes.io/instance-type',
  'beta.kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
]);
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];
const RESTRICTED_NAMESPACE = 'node-restriction.kubernetes.io';

const labelNamespace = (key: string) => (key.includes('/') ? key.slice(0, key.indexOf('/')) : '');
const inNamespace = (ns: string, parent: string) => ns === parent || ns.endsWith(`.${parent}`);

function isKubernetesLabel(key: string): boolean {
  const ns = labelNamespace(key);
  return inNamespace(ns, 'kubernetes.io') || inNamespace(ns, 'k8s.io');
}

function isKubeletLabel(key: string): boolean {
  if (KUBELET_LABELS.has(key)) return true;
  const ns = labelNamespace(key);
  return KUBELET_LABEL_NAMESPACES.some((allowed) => inNamespace(ns, allowed));
}

function modifiedLabels(a: Record<string, string>, b: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => a[k] !== b[k]).sort();
}

/** The labels a node may not add, remove or change (upstream's getForbiddenLabels). */
export function forbiddenLabels(now: KubeObject | undefined, before: KubeObject | undefined): string[] {
  const labels = (o: KubeObject | undefined) => (o?.metadata.labels ?? {}) as Record<string, string>;
  return modifiedLabels(labels(now), labels(before)).filter(
    (key) => inNamespace(labelNamespace(key), RESTRICTED_NAMESPACE) || (isKubernetesLabel(key) && !isKubeletLabel(key)),
  );
}

const specOf = (o: KubeObject | undefined) => (o?.spec ?? {}) as { configSource?: unknown; taints?: unknown[] };

/** Why `node` may not make this write to a Node (upstream's admitNode), or undefined. */
export function nodeWriteRefusal(
  node: string,
  operation: string,
  name: string,
  object: KubeObject | undefined,
  old: KubeObject | undefined,
): string | undefined {
  if (name !== node) return `node "${node}" is not allowed to modify node "${name}"`;
  if (operation === 'CREATE') {
    if (specOf(object).configSource) return `node "${node}" is not allowed to create pods with a non-nil configSource`;
    const forbidden = forbiddenLabels(object, undefined);
    if (forbidden.length) return `node "${node}" is not allowed to set the following labels: ${forbidden.join(', ')}`;
  }
  if (operation === 'UPDATE') {
    const source = specOf(object).configSource;
    if (source && JSON.stringify(source) !== JSON.stringify(specOf(old).configSource)) {
      return `node "${node}" is not allowed to update configSource to a new non-nil configSource`;
    }
    if (JSON.stringify(specOf(object).taints ?? []) !== JSON.stringify(specOf(old).taints ?? [])) {
      return `node "${node}" is not allowed to modify taints`;
    }
    const forbidden = forbiddenLabels(object, old);
    if (forbidden.length) return `is not allowed to modify labels: ${forbidden.join(', ')}`;
  }
  return undefined;
}
