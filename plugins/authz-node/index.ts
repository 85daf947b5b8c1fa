/**
 * authz-node (--authorization-mode=Node): upstream's Node authorizer. A kubelet, identified as
 * `system:node:<name>` in `system:nodes`, may read the Secrets, ConfigMaps, claims, volumes and
 * service-account tokens of pods bound to it, and its own Lease; plus upstream's static node rules.
 * Put it first, as upstream's `--authorization-mode=Node,RBAC`. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { NodeAuthorizer } from './authorizer.js';
import { NodeGraph } from './graph.js';

export default definePlugin({
  name: 'authz-node',
  description:
    "Lets each node read only the secrets, configmaps, volumes and tokens its own pods use (upstream's Node authorizer).",
  authorizationMode: 'Node',
  dependencies: ['api-core-v1'],
  setup(ctx) {
    const authorizer = new NodeAuthorizer(new NodeGraph(ctx.api.cached));
    ctx.provide.authorizer((attributes) => authorizer.authorize(attributes));
  },
});
