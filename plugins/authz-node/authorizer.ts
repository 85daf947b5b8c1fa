/**
 * Upstream's Node authorizer: requests of `system:node:<name>` in `system:nodes` only. Secrets and
 * ConfigMaps (get), PersistentVolumeClaims and PersistentVolumes (get; claims' status update) and
 * service-account tokens (create) are allowed only when a pod bound to that node uses them; Leases
 * only in kube-node-lease under the node's own name; CSINodes only the node's own. Everything else
 * a node may do is the static NODE_RULES. Refusals are no opinion with upstream's reason, so the
 * next authorizer in the chain decides (none of the built-in ones grants nodes these reads).
 */
import type { AuthorizationAttributes, AuthorizationDecision, UserInfo } from 'skiff/sdk/auth';
import type { Kind, NodeGraph } from './graph.js';
import { rulesAllow } from './rules.js';

const NODE_PREFIX = 'system:node:';
const NODES_GROUP = 'system:nodes';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** Upstream's NodeIdentifier: the node name, '' for a node it cannot name, undefined for a non-node. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.name.startsWith(NODE_PREFIX) || !user.groups.includes(NODES_GROUP)) return undefined;
  return user.name.slice(NODE_PREFIX.length);
}

type Decision = AuthorizationDecision | undefined;

const allow = (node: string, what: string): AuthorizationDecision => ({
  decision: 'allow',
  reason: `Node: node "${node}" ${what}`,
});
const noOpinion = (reason: string): AuthorizationDecision => ({ decision: 'no-opinion', reason });

export class NodeAuthorizer {
  constructor(private readonly graph: NodeGraph) {}

  async authorize(a: AuthorizationAttributes): Promise<Decision> {
    const node = nodeNameOf(a.user);
    if (node === undefined) return undefined;
    if (!node) return noOpinion(`unknown node for user "${a.user.name}"`);
    if (a.resourceRequest) {
      const decided = await this.byResource(node, a);
      if (decided) return decided;
    }
    return rulesAllow(a) ? allow(node, `may ${a.verb} ${a.resource} (node rules)`) : undefined;
  }

  private byResource(node: string, a: AuthorizationAttributes): Promise<Decision> | Decision {
    switch (`${a.apiGroup}/${a.resource}`) {
      case '/secrets':
        return this.readNamespaced(node, 'secret', a);
      case '/configmaps':
        return this.readNamespaced(node, 'configmap', a);
      case '/persistentvolumeclaims':
        if (a.subresource === 'status') {
          if (a.verb !== 'update' && a.verb !== 'patch') return noOpinion('can only get/update/patch this type');
          return this.related(node, 'pvc', a);
        }
        return this.getOnly(a, () => this.related(node, 'pvc', a));
      case '/persistentvolumes':
        return this.getOnly(a, async () =>
          (await this.graph.volumeUsed(node, a.name)) ? allow(node, 'uses this volume') : unrelated(node),
        );
      case '/serviceaccounts':
        if (a.verb !== 'create' || !a.name) return noOpinion('can only create tokens for individual service accounts');
        if (a.subresource !== 'token') return noOpinion('can only create token subresource of serviceaccount');
        return this.related(node, 'serviceaccount', a);
      case 'coordination.k8s.io/leases':
        return lease(node, a);
      case 'storage.k8s.io/csinodes':
        return csiNode(node, a);
      default:
        return undefined;
    }
  }

  private readNamespaced(node: string, kind: Kind, a: AuthorizationAttributes): Promise<Decision> | Decision {
    if (!['get', 'list', 'watch'].includes(a.verb)) return noOpinion('can only read resources of this type');
    if (a.subresource) return noOpinion('cannot read subresource');
    if (!a.namespace) return noOpinion('can only read namespaced object of this type');
    return this.related(node, kind, a);
  }

  private getOnly(a: AuthorizationAttributes, then: () => Promise<Decision>): Promise<Decision> | Decision {
    if (a.verb !== 'get') return noOpinion('can only get individual resources of this type');
    if (a.subresource) return noOpinion('cannot get subresource');
    if (!a.name) return noOpinion('No Object name found');
    return then();
  }

  private async related(node: string, kind: Kind, a: AuthorizationAttributes): Promise<Decision> {
    if (!a.name) return noOpinion('No Object name found');
    if (await this.graph.podUses(node, kind, a.namespace, a.name))
      return allow(node, `runs a pod that uses this ${kind}`);
    return unrelated(node);
  }
}

const unrelated = (node: string) => noOpinion(`no relationship found between node '${node}' and this object`);

function lease(node: string, a: AuthorizationAttributes): Decision {
  if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb)) {
    return noOpinion('can only get, create, update, patch, or delete a node lease');
  }
  if (a.namespace !== NODE_LEASE_NAMESPACE)
    return noOpinion(`can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`);
  // A create names no object yet: NodeRestriction checks the name.
  if (a.verb !== 'create' && a.name !== node)
    return noOpinion('can only access node lease with the same name as the requesting node');
  return allow(node, 'may use its own lease');
}

function csiNode(node: string, a: AuthorizationAttributes): Decision {
  if (!['get', 'create', 'update', 'patch', 'delete'].includes(a.verb))
    return noOpinion('can only get, create, update, patch, or delete a CSINode');
  if (a.subresource) return noOpinion('cannot authorize CSINode subresources');
  if (a.verb !== 'create' && a.name !== node)
    return noOpinion('can only access CSINode with the same name as the requesting node');
  return allow(node, 'may use its own CSINode');
}
