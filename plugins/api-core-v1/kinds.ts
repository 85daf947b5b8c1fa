/** Every core/v1 kind this plugin serves, in discovery order (alphabetical, as upstream lists /api/v1). */
import type { ResourceDefinition } from 'skiff/sdk/api';
import type { ServiceAllocators } from './cluster-ip-allocator.js';
import { configDefinitions } from './config-kinds.js';
import { endpointsDefinition, eventDefinition } from './endpoints-events.js';
import { namespaceDefinition } from './namespaces.js';
import { nodeDefinition } from './nodes.js';
import { patchMetaFor } from './patch-meta.js';
import { type PodStoreLookup, podDefinitions } from './pods.js';
import { quotaDefinitions } from './quotas.js';
import { rcDefinition } from './replicationcontrollers.js';
import { serviceDefinition } from './services.js';
import { tableFor } from './tables.js';
import { volumeDefinitions } from './volumes.js';

/** What the kinds of one server share with it: the pods' store (for bindings) and the service ranges. */
export interface CoreV1Wiring {
  podStore: PodStoreLookup;
  allocators: ServiceAllocators;
}

export function coreV1Definitions({ podStore, allocators }: CoreV1Wiring): ResourceDefinition[] {
  return [
    ...podDefinitions(podStore),
    ...configDefinitions,
    endpointsDefinition,
    eventDefinition,
    namespaceDefinition,
    nodeDefinition,
    ...quotaDefinitions,
    rcDefinition,
    serviceDefinition(allocators),
    ...volumeDefinitions,
  ]
    .map((def) => ({ ...def, patchMeta: patchMetaFor(def.kind), table: tableFor(def.kind) }))
    .sort((a, b) => (a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0));
}
