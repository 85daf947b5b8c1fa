/**
 * Aggregated discovery (apidiscovery.k8s.io/v2, and v2beta1 for clients of 1.26–1.29): one document
 * per root (/api for the core group, /apis for the rest) listing every group, version and resource,
 * so kubectl learns the whole API in two requests. Built from the same registry as the legacy
 * documents; clients that do not ask for it get those.
 */
import { type ResourceRegistry, verbsOf } from '../api/registry.js';
import type { ResourceDefinition } from '../api/types.js';

export const DISCOVERY_PROFILES = ['v2', 'v2beta1'] as const;
export type DiscoveryVersion = (typeof DISCOVERY_PROFILES)[number];

export const discoveryContentType = (v: DiscoveryVersion) =>
  `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;

/** The aggregated version the Accept header asks for first, if any. */
export function wantsAggregated(accept: string | undefined): DiscoveryVersion | undefined {
  for (const part of (accept ?? '').split(',')) {
    const params = part.split(';').map((p) => p.trim());
    if (params[0] !== 'application/json' || !params.includes('g=apidiscovery.k8s.io')) continue;
    if (!params.includes('as=APIGroupDiscoveryList')) continue;
    const version = DISCOVERY_PROFILES.find((v) => params.includes(`v=${v}`));
    if (version) return version;
  }
  return undefined;
}

function resourceEntry(def: ResourceDefinition) {
  const out: Record<string, unknown> = {
    resource: def.plural,
    responseKind: { group: def.group, version: def.version, kind: def.kind },
    scope: def.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: def.singular ?? def.kind.toLowerCase(),
    verbs: [...verbsOf(def)],
  };
  if (def.shortNames?.length) out.shortNames = def.shortNames;
  if (def.categories?.length) out.categories = def.categories;
  const subresources: Record<string, unknown>[] = [];
  if (def.hasStatus) {
    subresources.push({
      subresource: 'status',
      responseKind: { group: def.group, version: def.version, kind: def.kind },
      verbs: ['get', 'patch', 'update'],
    });
  }
  for (const [name, sub] of Object.entries(def.subresources ?? {})) {
    subresources.push({
      subresource: name,
      responseKind: sub.kind ?? { group: def.group, version: def.version, kind: def.kind },
      verbs: sub.verbs,
    });
  }
  if (subresources.length) out.subresources = subresources;
  return out;
}

/** The APIGroupDiscoveryList for /api (core: true) or /apis. */
export function aggregatedDiscovery(registry: ResourceRegistry, core: boolean, version: DiscoveryVersion) {
  const groups = new Map<string, Map<string, ResourceDefinition[]>>();
  for (const def of registry.all()) {
    if ((def.group === '') !== core) continue;
    const versions = groups.get(def.group) ?? new Map<string, ResourceDefinition[]>();
    groups.set(def.group, versions);
    versions.set(def.version, [...(versions.get(def.version) ?? []), def]);
  }
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: [...groups].map(([group, versions]) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: [...versions].map(([v, defs]) => ({
        version: v,
        resources: defs.map(resourceEntry),
        freshness: 'Current',
      })),
    })),
  };
}
