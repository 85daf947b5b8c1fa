/**
 * The ClusterIP and NodePort allocators of one server, built from the plugin's config and handed to
 * its service strategy. They are this plugin's internals, not services: nothing outside it allocates.
 */
import type { KubeObject } from 'skiff/sdk/api';
import type { Storage } from 'skiff/sdk/storage';
import { ClusterIPAllocator, NodePortAllocator, type ServiceAllocators } from './cluster-ip-allocator.js';
import { type ApiCoreV1Config, parsePortRange } from './config.js';
import { SERVICES_PREFIX } from './services.js';

/** A store one server owns alone needs no claims: they would only cost writes. */
function claimsWanted(setting: ApiCoreV1Config['allocationClaims'], storage: Storage): boolean {
  return setting === 'always' || (setting === 'auto' && storage.shared === true);
}

/** The stored services, read straight from storage (which opens after setup, hence lazily). */
function serviceLister(storage: () => Storage) {
  return async (revision?: number): Promise<KubeObject[]> => {
    const { items } = await storage().list(SERVICES_PREFIX, { revision });
    return items.map((kv) => JSON.parse(kv.value) as KubeObject);
  };
}

type RangeSettings = Pick<ApiCoreV1Config, 'serviceClusterIPRange' | 'serviceNodePortRange' | 'allocationClaims'>;

/** The allocators for `config`'s ranges, learning what is taken from (and claiming in) `storage`. */
export function serviceAllocators(config: RangeSettings, storage: () => Storage): ServiceAllocators {
  const listServices = serviceLister(storage);
  const claimIn = () => (claimsWanted(config.allocationClaims, storage()) ? storage() : undefined);
  const ports = parsePortRange(config.serviceNodePortRange);
  if (!ports) throw new Error(`invalid service node port range ${config.serviceNodePortRange}`);
  return {
    clusterIPs: new ClusterIPAllocator(config.serviceClusterIPRange, listServices, { storage: claimIn }),
    nodePorts: new NodePortAllocator(ports.first, ports.last, listServices, { storage: claimIn }),
  };
}
