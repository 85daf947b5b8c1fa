/**
 * api-apps-v1: apps/v1 Deployments and ReplicaSets with their scale and status subresources. The
 * pod templates they hold are defaulted and validated by the pods' own strategy (api-core-v1's).
 * The controllers that act on them are controller-replication and controller-deployment. See
 * README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { deploymentDefinition } from './deployments.js';
import { replicaSetDefinition } from './replicasets.js';
import { podTemplates } from './template.js';

export default definePlugin({
  name: 'api-apps-v1',
  description: 'apps/v1 Deployments and ReplicaSets, with their scale and status subresources.',
  dependencies: ['api-core-v1'],
  setup(ctx) {
    const templates = podTemplates(ctx.api.registry);
    ctx.provide.resource(deploymentDefinition(templates));
    ctx.provide.resource(replicaSetDefinition(templates));
  },
});
