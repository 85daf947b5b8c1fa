/**
 * api-discovery-v1: discovery.k8s.io/v1 EndpointSlice, the scalable successor of Endpoints that
 * kube-proxy reads. controller-endpointslice writes them for Services. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import type { ResourceDefinition, Strategy } from 'skiff/sdk/api';
import { endpointSliceTable } from './table.js';
import { defaultEndpointSlice, validateEndpointSlice, validateEndpointSliceUpdate } from './validation.js';

export const endpointSliceStrategy: Strategy = {
  defaults: defaultEndpointSlice,
  validate: validateEndpointSlice,
  validateUpdate: validateEndpointSliceUpdate,
};

export const endpointSliceDefinition: ResourceDefinition = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  strategy: endpointSliceStrategy,
  table: endpointSliceTable,
};

export default definePlugin({
  name: 'api-discovery-v1',
  description: 'discovery.k8s.io/v1 EndpointSlice, the per-Service lists of endpoints.',
  setup(ctx) {
    ctx.provide.resource(endpointSliceDefinition);
  },
});
