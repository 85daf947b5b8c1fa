/**
 * admission-node-restriction: upstream's NodeRestriction admission plugin. What the Node
 * authorizer lets every node do (write nodes, pods, pod status, leases), this narrows to the
 * node's own objects: its Node, the pods bound to it, mirror pods only, its own Lease and CSINode.
 * Requests of users that are not nodes pass untouched. See README.md.
 */
import { type AdmissionAttributes, definePlugin, forbidden, type KubeObject, type UserInfo } from 'skiff/sdk';
import { nodeWriteRefusal } from './nodes.js';
import { labelsEqual, mirrorPodRefusal, nodeNameOfPod } from './pods.js';
import { tokenRequestRefusal } from './tokens.js';

const NODE_PREFIX = 'system:node:';
const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** Upstream's NodeIdentifier: the node name, '' for a node it cannot name, undefined for a non-node. */
function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.name.startsWith(NODE_PREFIX) || !user.groups.includes('system:nodes')) return undefined;
  return user.name.slice(NODE_PREFIX.length);
}

type NodeLookup = (name: string) => KubeObject | undefined | Promise<KubeObject | undefined>;
type PodLookup = (namespace: string, name: string) => KubeObject | undefined | Promise<KubeObject | undefined>;

async function admitPod(
  a: AdmissionAttributes,
  node: string,
  nodes: NodeLookup,
  pods: PodLookup,
): Promise<string | undefined> {
  switch (a.subresource) {
    case '':
      if (a.operation === 'CREATE') return mirrorPodRefusal(node, a.object!, (await nodes(node))?.metadata.uid);
      if (a.operation === 'DELETE') {
        if (nodeNameOfPod(a.oldObject) !== node)
          return `node "${node}" can only delete pods with spec.nodeName set to itself`;
        return undefined;
      }
      return `unexpected operation "${a.operation}", node "${node}" can only create and delete mirror pods`;
    case 'status':
      if (a.operation !== 'UPDATE') return `unexpected operation "${a.operation}"`;
      if (nodeNameOfPod(a.oldObject) !== node) {
        return `node "${node}" can only update pod status for pods with spec.nodeName set to itself`;
      }
      if (!labelsEqual(a.oldObject, a.object)) return `node "${node}" cannot update labels through pod status`;
      return undefined;
    case 'eviction': {
      if (a.operation !== 'CREATE') return `unexpected operation ${a.operation}`;
      const pod = await pods(a.namespace, a.name);
      if (pod && nodeNameOfPod(pod) !== node)
        return `node ${node} can only evict pods with spec.nodeName set to itself`;
      return undefined;
    }
    default:
      return `unexpected pod subresource "${a.subresource}", only 'status' and 'eviction' are allowed`;
  }
}

function admitLease(a: AdmissionAttributes, node: string): string | undefined {
  if (a.namespace !== NODE_LEASE_NAMESPACE)
    return `can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`;
  if (a.name !== node) return 'can only access node lease with the same name as the requesting node';
  return undefined;
}

export default definePlugin({
  name: 'admission-node-restriction',
  description:
    "Limits each node to writing its own Node, Lease, mirror pods and the status of its own pods (upstream's NodeRestriction).",
  admissionName: 'NodeRestriction',
  // Upstream's recommended order: right after ServiceAccount.
  admissionOrder: 6.2,
  dependencies: ['api-core-v1'],
  setup(ctx) {
    const cached = ctx.api.cached;
    const nodes: NodeLookup = (name) =>
      cached.peek('', 'v1', 'nodes', '', name) ?? cached.get('', 'v1', 'nodes', '', name);
    const pods: PodLookup = (ns, name) =>
      cached.peek('', 'v1', 'pods', ns, name) ?? cached.get('', 'v1', 'pods', ns, name);
    const check = async (a: AdmissionAttributes): Promise<string | undefined> => {
      const node = nodeNameOf(a.user);
      if (node === undefined) return undefined;
      if (!node) return `could not determine node from user "${a.user.name}"`;
      const { group, resource } = a.resource;
      if (group === '' && resource === 'pods') return admitPod(a, node, nodes, pods);
      if (group === '' && resource === 'nodes')
        return nodeWriteRefusal(node, a.operation, a.name, a.object, a.oldObject);
      if (group === '' && resource === 'serviceaccounts') return tokenRequestRefusal(a, node, pods);
      if (group === '' && resource === 'persistentvolumeclaims' && a.subresource !== 'status')
        return 'may only update PVC status';
      if (group === 'coordination.k8s.io' && resource === 'leases') return admitLease(a, node);
      if (group === 'storage.k8s.io' && resource === 'csinodes' && a.name !== node) {
        return 'can only access CSINode with the same name as the requesting node';
      }
      return undefined;
    };
    ctx.provide.admission({
      name: 'NodeRestriction',
      handles: (op) => op !== 'CONNECT',
      // TokenRequests (serviceaccounts/token); upstream also sees pods/eviction, which Skiff does not serve.
      subresourceCreates: ['token'],
      admit: async (a) => {
        const refusal = await check(a);
        if (refusal) throw forbidden(a, refusal);
      },
    });
  },
});
