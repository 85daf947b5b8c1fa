/**
 * The warnings a 1.32 kube-apiserver gives for a pod spec (upstream's pkg/api/pod/warnings.go):
 * deprecated volume plugins, node labels and annotations, duplicates that `apply` would lose, and
 * byte quantities with a fraction. kubectl shows each as "Warning: <text>"; none refuses the pod.
 * `prefix` is where the pod spec's parent sits: '' for a pod, 'spec.template' for a template.
 */
import { canonicalQuantity, parseQuantity } from 'skiff/sdk/api';
import { isObj, listOf, type Obj, objList, objOf, strOf } from './field.js';
import { dns1123LabelErrors } from './names.js';

/** Volume plugins removed or on their way out: the JSON key, upstream's path segment, the text. */
const DEPRECATED_VOLUMES: [key: string, pathSegment: string, text: string][] = [
  ['photonPersistentDisk', 'photonPersistentDisk', 'deprecated in v1.11, non-functional in v1.16+'],
  ['gitRepo', 'gitRepo', 'deprecated in v1.11'],
  ['scaleIO', 'scaleIO', 'deprecated in v1.16, non-functional in v1.22+'],
  ['flocker', 'flocker', 'deprecated in v1.22, non-functional in v1.25+'],
  ['storageos', 'storageOS', 'deprecated in v1.22, non-functional in v1.25+'],
  ['quobyte', 'quobyte', 'deprecated in v1.22, non-functional in v1.25+'],
  ['glusterfs', 'glusterfs', 'deprecated in v1.25, non-functional in v1.26+'],
  ['cephfs', 'cephfs', 'deprecated in v1.28, non-functional in v1.31+'],
  ['rbd', 'rbd', 'deprecated in v1.28, non-functional in v1.31+'],
];

const DEPRECATED_ANNOTATIONS: Record<string, string> = {
  'scheduler.alpha.kubernetes.io/critical-pod': 'non-functional in v1.16+; use the "priorityClassName" field instead',
  'security.alpha.kubernetes.io/sysctls': 'non-functional in v1.11+; use the "sysctls" field instead',
  'security.alpha.kubernetes.io/unsafe-sysctls': 'non-functional in v1.11+; use the "sysctls" field instead',
};

const DEPRECATED_NODE_LABELS: Record<string, string> = {
  'beta.kubernetes.io/arch': 'deprecated since v1.14; use "kubernetes.io/arch" instead',
  'beta.kubernetes.io/os': 'deprecated since v1.14; use "kubernetes.io/os" instead',
  'failure-domain.beta.kubernetes.io/region': 'deprecated since v1.17; use "topology.kubernetes.io/region" instead',
  'failure-domain.beta.kubernetes.io/zone': 'deprecated since v1.17; use "topology.kubernetes.io/zone" instead',
  'beta.kubernetes.io/instance-type': 'deprecated since v1.17; use "node.kubernetes.io/instance-type" instead',
};

const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_PREFIX = 'container.seccomp.security.alpha.kubernetes.io/';
const SECCOMP_TEXT = 'non-functional in v1.27+; use the "seccompProfile" field instead';
const BYTE_RESOURCES = ['memory', 'ephemeral-storage'];

const at = (prefix: string, path: string) => (prefix ? `${prefix}.${path}` : path);

/** Upstream's pod strategy: a name that is no DNS label surprises as the pod's hostname. */
export function podNameWarnings(name: unknown): string[] {
  const errs = dns1123LabelErrors(strOf(name));
  if (errs.length === 0) return [];
  return [
    `metadata.name: this is used in the Pod's hostname, which can result in surprising behavior; a DNS label is recommended: [${errs.join(' ')}]`,
  ];
}

export function podSpecWarnings(spec: unknown, metadata: unknown, prefix = ''): string[] {
  if (!isObj(spec)) return [];
  const annotations = objOf(objOf(metadata).annotations);
  return [
    ...nodeLabelWarnings(spec, prefix),
    ...annotationWarnings(annotations, prefix),
    ...volumeWarnings(spec, prefix),
    ...duplicateWarnings(spec, prefix),
    ...fractionalWarnings(objOf(spec.overhead), at(prefix, 'spec.overhead')),
    ...seccompWarnings(spec, annotations, prefix),
    ...containers(spec, prefix).flatMap(([c, path]) => containerWarnings(c, path, annotations, prefix)),
  ];
}

function nodeLabelWarnings(spec: Obj, prefix: string): string[] {
  const out: string[] = [];
  for (const key of Object.keys(objOf(spec.nodeSelector))) {
    const text = DEPRECATED_NODE_LABELS[key];
    if (text) out.push(`${at(prefix, 'spec.nodeSelector')}[${key}]: ${text}`);
  }
  const affinity = objOf(objOf(spec.affinity).nodeAffinity);
  const base = at(prefix, 'spec.affinity.nodeAffinity');
  const required = objOf(affinity.requiredDuringSchedulingIgnoredDuringExecution);
  objList(required.nodeSelectorTerms).forEach((term, i) => {
    const path = `${base}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[${i}]`;
    out.push(...selectorTermWarnings(term, path));
  });
  objList(affinity.preferredDuringSchedulingIgnoredDuringExecution).forEach((term, i) => {
    const path = `${base}.preferredDuringSchedulingIgnoredDuringExecution[${i}].preference`;
    out.push(...selectorTermWarnings(objOf(term.preference), path));
  });
  objList(spec.topologySpreadConstraints).forEach((c, i) => {
    const key = strOf(c.topologyKey);
    const text = DEPRECATED_NODE_LABELS[key];
    if (text) out.push(`${at(prefix, 'spec.topologySpreadConstraints')}[${i}].topologyKey: ${key} is ${text}`);
  });
  return out;
}

function selectorTermWarnings(term: Obj, path: string): string[] {
  return objList(term.matchExpressions).flatMap((e, i) => {
    const key = strOf(e.key);
    const text = DEPRECATED_NODE_LABELS[key];
    return text ? [`${path}.matchExpressions[${i}].key: ${key} is ${text}`] : [];
  });
}

function annotationWarnings(annotations: Obj, prefix: string): string[] {
  return Object.entries(DEPRECATED_ANNOTATIONS)
    .filter(([key]) => key in annotations)
    .map(([key, text]) => `${at(prefix, 'metadata.annotations')}[${key}]: ${text}`);
}

function volumeWarnings(spec: Obj, prefix: string): string[] {
  const out: string[] = [];
  objList(spec.volumes).forEach((v, i) => {
    for (const [key, segment, text] of DEPRECATED_VOLUMES) {
      if (isObj(v[key])) out.push(`${at(prefix, 'spec.volumes')}[${i}].${segment}: ${text}`);
    }
  });
  return out;
}

/** Repeats upstream names (#58477): a strategic merge or apply keeps only one of them. */
function duplicateWarnings(spec: Obj, prefix: string): string[] {
  const out: string[] = [];
  const seenIPs = new Set<string>();
  objList(spec.hostAliases).forEach((alias, i) => {
    const ip = strOf(alias.ip);
    if (seenIPs.has(ip)) out.push(`${at(prefix, 'spec.hostAliases')}[${i}].ip: duplicate ip "${ip}"`);
    seenIPs.add(ip);
  });
  const secrets = objList(spec.imagePullSecrets);
  const seenNames = new Set<string>();
  secrets.forEach((s, i) => {
    const name = strOf(s.name);
    if (seenNames.has(name)) out.push(`${at(prefix, 'spec.imagePullSecrets')}[${i}].name: duplicate name "${name}"`);
    seenNames.add(name);
  });
  secrets.forEach((s, i) => {
    if (!strOf(s.name)) out.push(`${at(prefix, 'spec.imagePullSecrets')}[${i}].name: invalid empty name ""`);
  });
  return out;
}

/** Memory and ephemeral storage count bytes: "1.5" or "100m" of them is a mistake. */
function fractionalWarnings(list: Obj, path: string): string[] {
  const out: string[] = [];
  for (const name of BYTE_RESOURCES) {
    const nano = parseQuantity(list[name]);
    if (nano === undefined) continue;
    // Upstream rounds to milli-units first (SetDefaults_ResourceList), then asks for whole units.
    const milli = nano >= 0n ? (nano + 999_999n) / 1_000_000n : nano / 1_000_000n;
    if (milli % 1000n === 0n) continue;
    const shown = canonicalQuantity(`${milli}m`);
    out.push(`${path}[${name}]: fractional byte value "${shown}" is invalid, must be an integer`);
  }
  return out;
}

function seccompWarnings(spec: Obj, annotations: Obj, prefix: string): string[] {
  if (isObj(objOf(spec.securityContext).seccompProfile) || !(SECCOMP_POD_ANNOTATION in annotations)) return [];
  return [`${at(prefix, 'metadata.annotations')}[${SECCOMP_POD_ANNOTATION}]: ${SECCOMP_TEXT}`];
}

/** Upstream's VisitContainersWithPath order: init containers, containers, ephemeral containers. */
function containers(spec: Obj, prefix: string): [Obj, string][] {
  return ['initContainers', 'containers', 'ephemeralContainers'].flatMap((field) =>
    objList(spec[field]).map((c, i): [Obj, string] => [c, `${at(prefix, `spec.${field}`)}[${i}]`]),
  );
}

function containerWarnings(c: Obj, path: string, annotations: Obj, prefix: string): string[] {
  const out: string[] = [];
  const annotation = `${SECCOMP_CONTAINER_PREFIX}${strOf(c.name)}`;
  if (!isObj(objOf(c.securityContext).seccompProfile) && annotation in annotations) {
    out.push(`${at(prefix, 'metadata.annotations')}[${annotation}]: ${SECCOMP_TEXT}`);
  }
  const resources = objOf(c.resources);
  for (const name of BYTE_RESOURCES) {
    out.push(...fractionalWarnings(pickOne(resources.limits, name), `${path}.resources.limits`));
    out.push(...fractionalWarnings(pickOne(resources.requests, name), `${path}.resources.requests`));
  }
  out.push(...envWarnings(c, path));
  return out;
}

const pickOne = (list: unknown, name: string): Obj => (isObj(list) && name in list ? { [name]: list[name] } : {});

/** A later env entry of the same name wins, unless it builds on the earlier one with $(NAME). */
function envWarnings(c: Obj, path: string): string[] {
  const env = listOf(c.env).filter(isObj);
  const seen = new Set<string>();
  const out: string[] = [];
  env.forEach((item, i) => {
    const name = strOf(item.name);
    if (!seen.has(name)) {
      seen.add(name);
      return;
    }
    const ref = `$(${name})`;
    const value = strOf(item.value);
    const hides = isObj(item.valueFrom) || value === ref || !value.includes(ref);
    if (hides)
      out.push(`${path}.env[${i}]: hides previous definition of "${name}", which may be dropped when using apply`);
  });
  return out;
}
