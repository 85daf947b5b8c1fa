/**
 * Strategic-merge-patch metadata for the core/v1 kinds: which lists merge, and by which key.
 * Taken from upstream's struct tags (patchStrategy / patchMergeKey) in k8s.io/api/core/v1.
 */
import type { MergeRule, PatchMeta } from 'skiff/sdk/api';

const merge = (mergeKey: string): MergeRule => ({ strategy: 'merge', mergeKey });
/** Server-side apply keys a port by number and protocol (TCP when left out), so 53/TCP and 53/UDP are two. */
const byPortAndProtocol = (port: string): MergeRule => ({
  ...merge(port),
  listMapKeys: [port, 'protocol'],
  keyDefaults: { protocol: 'TCP' },
});
// Primitive lists with patchStrategy "merge" (finalizers): union of values.
const union = { strategy: 'merge' as const, mergeKey: '' };

export function metadataPatchMeta(prefix = 'metadata'): PatchMeta {
  return { [`${prefix}.ownerReferences`]: merge('uid'), [`${prefix}.finalizers`]: union };
}

function containerMeta(list: string): PatchMeta {
  return {
    [list]: merge('name'),
    [`${list}[].ports`]: byPortAndProtocol('containerPort'),
    [`${list}[].env`]: merge('name'),
    [`${list}[].volumeMounts`]: merge('mountPath'),
    [`${list}[].volumeDevices`]: merge('devicePath'),
    [`${list}[].resizePolicy`]: merge('resourceName'),
  };
}

export function podSpecPatchMeta(spec: string): PatchMeta {
  return {
    ...containerMeta(`${spec}.containers`),
    ...containerMeta(`${spec}.initContainers`),
    ...containerMeta(`${spec}.ephemeralContainers`),
    [`${spec}.volumes`]: merge('name'),
    [`${spec}.imagePullSecrets`]: merge('name'),
    [`${spec}.hostAliases`]: merge('ip'),
    [`${spec}.topologySpreadConstraints`]: {
      ...merge('topologyKey'),
      listMapKeys: ['topologyKey', 'whenUnsatisfiable'],
    },
    [`${spec}.resourceClaims`]: merge('name'),
    [`${spec}.schedulingGates`]: merge('name'),
  };
}

const POD_STATUS: PatchMeta = {
  'status.conditions': merge('type'),
  'status.podIPs': merge('ip'),
  'status.hostIPs': merge('ip'),
};

const TABLE: Record<string, PatchMeta> = {
  Pod: { ...metadataPatchMeta(), ...podSpecPatchMeta('spec'), ...POD_STATUS },
  ReplicationController: {
    ...metadataPatchMeta(),
    ...metadataPatchMeta('spec.template.metadata'),
    ...podSpecPatchMeta('spec.template.spec'),
    'status.conditions': merge('type'),
  },
  Service: { ...metadataPatchMeta(), 'spec.ports': byPortAndProtocol('port'), 'status.conditions': merge('type') },
  Node: {
    ...metadataPatchMeta(),
    'status.conditions': merge('type'),
    'status.addresses': merge('type'),
  },
  Namespace: { ...metadataPatchMeta(), 'status.conditions': merge('type') },
  ServiceAccount: { ...metadataPatchMeta(), secrets: merge('name') },
  PersistentVolumeClaim: { ...metadataPatchMeta(), 'status.conditions': merge('type') },
};

export function patchMetaFor(kind: string): PatchMeta {
  return TABLE[kind] ?? metadataPatchMeta();
}
