/**
 * Services: defaulting, validation, and the allocation of cluster IPs and node ports. Allocation
 * happens in prepareForCreate (an allocated address is what a successful create returns) and is
 * released in afterDelete; see range-allocator.ts for how a failed create's hold is reclaimed and
 * allocation-claims.ts for how servers sharing storage agree.
 */

import { errors, type FieldError, type KubeObject, type ResourceDefinition, type Strategy } from 'skiff/sdk/api';
import {
  AllocationError,
  type ClusterIPAllocator,
  type NodePortAllocator,
  nodePortsOf,
  ownerOf,
  parseIPv4,
  type ServiceAllocators,
} from './cluster-ip-allocator.js';
import { invalid, isObj, listOf, type Obj, objList } from './field.js';
import { dns1035LabelErrors } from './names.js';
import {
  defaultService,
  initIPFamilyFields,
  mirrorClusterIPs,
  needsClusterIP,
  needsNodePorts,
  specOfService,
  validateClusterIPUpdate,
  validateServiceSpec,
} from './service-validation.js';

/** Where services are stored (upstream's key layout). */
export const SERVICES_PREFIX = '/registry/services/specs/';

function rejected(svc: KubeObject, err: FieldError): never {
  throw errors.invalid('Service', '', svc.metadata.name ?? '', [err]);
}

async function allocateClusterIP(svc: KubeObject, allocator: ClusterIPAllocator, dryRun: boolean): Promise<void> {
  const spec = specOfService(svc);
  if (!needsClusterIP(svc) || spec.clusterIP === 'None') return;
  const requested = spec.clusterIP;
  try {
    if (!requested) {
      spec.clusterIP = await allocator.allocateNext(ownerOf(svc), dryRun);
      spec.clusterIPs = [spec.clusterIP];
    } else if (typeof requested === 'string' && parseIPv4(requested) !== undefined) {
      await allocator.allocate(requested, ownerOf(svc), dryRun);
    }
  } catch (err) {
    if (!(err instanceof AllocationError)) throw err;
    if (err.reason === 'full') throw errors.internal(`failed to allocate a serviceIP: ${err.message}`);
    rejected(svc, invalid('spec.clusterIPs', [requested], `failed to allocate IP ${requested}: ${err.message}`));
  }
}

/** Node ports for every port that lacks one; ports the old object already held are kept as they are. */
async function allocateNodePorts(
  svc: KubeObject,
  allocator: NodePortAllocator,
  dryRun: boolean,
  held: number[] = [],
): Promise<void> {
  if (!needsNodePorts(svc)) return;
  const ports = objList(specOfService(svc).ports);
  for (const [i, port] of ports.entries()) {
    const requested = port.nodePort;
    try {
      if (requested === undefined || requested === null || requested === 0) {
        port.nodePort = await allocator.allocateNext(ownerOf(svc), dryRun);
      } else if (typeof requested === 'number' && !held.includes(requested)) {
        await allocator.allocate(requested, ownerOf(svc), dryRun);
      }
    } catch (err) {
      if (!(err instanceof AllocationError)) throw err;
      if (err.reason === 'full') throw errors.internal(`failed to allocate a nodePort: ${err.message}`);
      rejected(svc, invalid(`spec.ports[${i}].nodePort`, requested, err.message));
    }
  }
}

/** Upstream's patchAllocatedValues: a PUT that omits allocated values keeps them. */
function keepAllocated(spec: Obj, svc: KubeObject, old: KubeObject): void {
  const before = specOfService(old);
  if (needsClusterIP(old) && needsClusterIP(svc) && !spec.clusterIP && listOf(spec.clusterIPs).length === 0) {
    if (before.clusterIP !== undefined) spec.clusterIP = before.clusterIP;
    if (before.clusterIPs !== undefined) spec.clusterIPs = before.clusterIPs;
  }
  if (!needsNodePorts(old) || !needsNodePorts(svc)) return;
  const oldPorts = objList(before.ports);
  for (const port of objList(spec.ports)) {
    if (port.nodePort) continue;
    const match =
      oldPorts.find((p) => port.name !== undefined && p.name === port.name) ??
      (oldPorts.length === 1 && objList(spec.ports).length === 1 ? oldPorts[0] : undefined);
    if (match?.nodePort) port.nodePort = match.nodePort;
  }
}

/** Upstream's dropTypeDependentFields: fields the new type has no use for go, if the client left them as they were. */
function dropTypeDependent(spec: Obj, svc: KubeObject, old: KubeObject): void {
  const before = specOfService(old);
  const same = (key: string) => JSON.stringify(spec[key]) === JSON.stringify(before[key]);
  if (needsClusterIP(old) && !needsClusterIP(svc)) {
    for (const key of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'internalTrafficPolicy']) {
      if (same(key)) delete spec[key];
    }
  }
  if (needsNodePorts(old) && !needsNodePorts(svc)) {
    const oldPorts = objList(before.ports);
    for (const port of objList(spec.ports)) {
      if (oldPorts.some((p) => p.nodePort === port.nodePort)) delete port.nodePort;
    }
  }
  if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer' && same('externalTrafficPolicy')) {
    delete spec.externalTrafficPolicy;
  }
  if (spec.type !== 'LoadBalancer' && same('allocateLoadBalancerNodePorts')) delete spec.allocateLoadBalancerNodePorts;
}

function nameErrors(svc: KubeObject): FieldError[] {
  const name = svc.metadata.name;
  return name ? dns1035LabelErrors(name).map((m) => invalid('metadata.name', name, m)) : [];
}

/** Upstream's releaseAllocatedResources: what a deleted service held goes back to the ranges. */
async function releaseAll(svc: KubeObject, { clusterIPs, nodePorts }: ServiceAllocators): Promise<void> {
  const owner = ownerOf(svc);
  const spec = specOfService(svc);
  mirrorClusterIPs(spec);
  for (const ip of listOf(spec.clusterIPs)) {
    if (typeof ip === 'string' && ip !== 'None') await clusterIPs.release(ip, owner);
  }
  for (const port of nodePortsOf(svc)) await nodePorts.release(port, owner);
}

/** The service strategy of one server: it allocates from, and releases to, that server's ranges. */
export function serviceStrategy(allocators: ServiceAllocators): Strategy {
  const { clusterIPs, nodePorts } = allocators;
  return {
    // Upstream keeps no metadata.generation for services.
    tracksGeneration: false,
    defaults: defaultService,
    async prepareForCreate(obj, ctx) {
      obj.status = { loadBalancer: {} };
      if (!isObj(obj.spec)) return;
      initIPFamilyFields(obj);
      await allocateClusterIP(obj, clusterIPs, ctx.dryRun);
      await allocateNodePorts(obj, nodePorts, ctx.dryRun);
    },
    async prepareForUpdate(obj, old, ctx) {
      if (old.status === undefined) delete obj.status;
      else obj.status = old.status;
      if (!isObj(obj.spec)) return;
      obj.spec.type ??= 'ClusterIP';
      keepAllocated(obj.spec, obj, old);
      dropTypeDependent(obj.spec, obj, old);
      // Again: a type change has just dropped what belonged to the old type.
      defaultService(obj);
      initIPFamilyFields(obj);
      if (!needsClusterIP(old)) await allocateClusterIP(obj, clusterIPs, ctx.dryRun);
      await allocateNodePorts(obj, nodePorts, ctx.dryRun, nodePortsOf(old));
    },
    validate: (obj) => [...nameErrors(obj), ...validateServiceSpec(obj)],
    validateUpdate: (obj, old) => [...validateServiceSpec(obj), ...validateClusterIPUpdate(obj, old)],
    afterDelete: (obj) => releaseAll(obj, allocators),
  };
}

export function serviceDefinition(allocators: ServiceAllocators): ResourceDefinition {
  return {
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    singular: 'service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    storagePrefix: SERVICES_PREFIX,
    // Upstream validates service names as DNS-1035 labels in the strategy; see validate above.
    nameRule: 'path-segment',
    strategy: serviceStrategy(allocators),
    returnDeletedObject: true,
    allowCreateOnUpdate: true,
    hasStatus: true,
  };
}
