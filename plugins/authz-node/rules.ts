/**
 * Upstream's NodeRules (plugin/pkg/auth/authorizer/rbac/bootstrappolicy): what every node may do
 * whatever its pods, which the Node authorizer grants after its graph-limited checks. Secrets,
 * ConfigMaps, volumes, tokens, Leases and CSINodes are left out: authorizer.ts decides those per
 * node. As before 1.32's AuthorizeNodeWithSelectors, nodes read every Node and list every pod:
 * Skiff's authorization attributes carry no field selectors yet.
 */
import type { AuthorizationAttributes } from 'skiff/sdk/auth';

interface Rule {
  verbs: string[];
  group: string;
  resources: string[];
}

export const NODE_RULES: readonly Rule[] = [
  { verbs: ['create'], group: 'authentication.k8s.io', resources: ['tokenreviews'] },
  {
    verbs: ['create'],
    group: 'authorization.k8s.io',
    resources: ['subjectaccessreviews', 'localsubjectaccessreviews'],
  },
  { verbs: ['get', 'list', 'watch'], group: '', resources: ['services'] },
  { verbs: ['create', 'get', 'list', 'watch', 'update', 'patch'], group: '', resources: ['nodes'] },
  { verbs: ['update', 'patch'], group: '', resources: ['nodes/status'] },
  { verbs: ['create', 'update', 'patch'], group: '', resources: ['events'] },
  { verbs: ['create', 'update', 'patch'], group: 'events.k8s.io', resources: ['events'] },
  { verbs: ['get', 'list', 'watch', 'create', 'delete'], group: '', resources: ['pods'] },
  { verbs: ['update', 'patch'], group: '', resources: ['pods/status'] },
  { verbs: ['create'], group: '', resources: ['pods/eviction'] },
  { verbs: ['get'], group: '', resources: ['endpoints'] },
  {
    verbs: ['create', 'get', 'list', 'watch'],
    group: 'certificates.k8s.io',
    resources: ['certificatesigningrequests'],
  },
  { verbs: ['get', 'list', 'watch'], group: 'storage.k8s.io', resources: ['csidrivers'] },
  { verbs: ['get', 'list', 'watch'], group: 'node.k8s.io', resources: ['runtimeclasses'] },
];

export function rulesAllow(a: AuthorizationAttributes): boolean {
  if (!a.resourceRequest) return false;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return NODE_RULES.some((r) => r.group === a.apiGroup && r.verbs.includes(a.verb) && r.resources.includes(resource));
}
