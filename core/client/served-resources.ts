/**
 * Every resource an API server serves, with its kind, scope and verbs: what the garbage collector
 * needs to watch every kind that can have owners and to find an owner from its ownerReference
 * (apiVersion and kind), as upstream's discovery and RESTMapper give it. In the API server's process
 * it is read from the registry; over HTTPS from discovery (/api, /apis and each group version, all
 * versions, not only the preferred one), remembered for 30 s.
 */
import type { ResourceDefinition } from '../api/types.js';
import type { ResourceRef } from './types.js';

export interface ServedResource extends ResourceRef {
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

interface Discoverer {
  getPath<T>(path: string): Promise<T>;
}

interface GroupList {
  groups: { name: string; versions: { version: string }[] }[];
}

interface ResourceList {
  resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[];
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The registry's kinds, without subresources and virtual kinds (bindings, reviews). */
export function servedFromRegistry(definitions: readonly ResourceDefinition[]): ServedResource[] {
  return definitions
    .filter((d) => !d.virtualCreate)
    .map((d) => ({
      group: d.group,
      version: d.version,
      resource: d.plural,
      kind: d.kind,
      namespaced: d.namespaced,
      verbs: [...(d.verbs ?? ALL_VERBS)],
    }));
}

async function discover(client: Discoverer): Promise<ServedResource[]> {
  const [core, apis] = await Promise.all([
    client.getPath<{ versions: string[] }>('/api'),
    client.getPath<GroupList>('/apis'),
  ]);
  const groupVersions: [string, string][] = [
    ...core.versions.map((v): [string, string] => ['', v]),
    ...apis.groups.flatMap((g) => g.versions.map((v): [string, string] => [g.name, v.version])),
  ];
  const lists = await Promise.all(
    groupVersions.map(async ([group, version]) => {
      const list = await client.getPath<ResourceList>(group ? `/apis/${group}/${version}` : `/api/${version}`);
      return list.resources
        .filter((r) => !r.name.includes('/'))
        .map((r) => ({ group, version, resource: r.name, kind: r.kind, namespaced: r.namespaced, verbs: r.verbs }));
    }),
  );
  return lists.flat();
}

/** Discovery over HTTPS, remembered for `ttlMs`; a failed discovery is not remembered. */
export function cachedServedResources(client: Discoverer, ttlMs = 30_000): () => Promise<ServedResource[]> {
  let cached: { at: number; resources: Promise<ServedResource[]> } | undefined;
  return () => {
    if (cached && Date.now() - cached.at < ttlMs) return cached.resources;
    const resources = discover(client);
    const entry = { at: Date.now(), resources };
    cached = entry;
    resources.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return resources;
  };
}
