/** Legacy discovery documents (/api, /apis, /api/v1, /apis/<g>/<v>), built from the registry. */
import { type ResourceRegistry, verbsOf } from '../api/registry.js';
import type { ResourceDefinition } from '../api/types.js';
import { KUBERNETES_VERSION } from '../api/version.js';

export { KUBERNETES_VERSION } from '../api/version.js';

export function versionInfo() {
  return {
    major: KUBERNETES_VERSION.major,
    minor: KUBERNETES_VERSION.minor,
    gitVersion: `${KUBERNETES_VERSION.gitVersion}+skiff`,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'skiff',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(registry: ResourceRegistry, group: string) {
  const versions = registry
    .groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  if (versions.length === 0) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(registry: ResourceRegistry) {
  const groups = [...new Set(registry.groupVersions().map((gv) => gv.group))].filter((g) => g !== '');
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((g) => apiGroup(registry, g)) };
}

export function apiGroupDocument(registry: ResourceRegistry, group: string) {
  return apiGroup(registry, group);
}

function entry(def: ResourceDefinition) {
  const out: Record<string, unknown> = {
    name: def.plural,
    singularName: def.singular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: [...verbsOf(def)],
  };
  if (def.shortNames?.length) out.shortNames = def.shortNames;
  if (def.categories?.length) out.categories = def.categories;
  return out;
}

function subresourceEntries(def: ResourceDefinition) {
  const out: Record<string, unknown>[] = [];
  if (def.hasStatus) {
    out.push({
      name: `${def.plural}/status`,
      singularName: '',
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: ['get', 'patch', 'update'],
    });
  }
  for (const [name, sub] of Object.entries(def.subresources ?? {})) {
    const e: Record<string, unknown> = {
      name: `${def.plural}/${name}`,
      singularName: '',
      namespaced: def.namespaced,
      kind: sub.kind?.kind ?? def.kind,
      verbs: sub.verbs,
    };
    if (sub.kind) {
      e.group = sub.kind.group;
      e.version = sub.kind.version;
    }
    out.push(e);
  }
  return out;
}

export function apiResourceList(registry: ResourceRegistry, group: string, version: string) {
  const defs = registry.inGroupVersion(group, version);
  if (defs.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: defs.flatMap((d) => [entry(d), ...subresourceEntries(d)]),
  };
}
