/**
 * Discovery over a remote client: the resources a namespace can hold, as the namespace controller
 * needs them (what the server's registry answers in-process). Read from /api, /apis and each
 * preferred group version: namespaced, not a subresource, and listable and deletable.
 */
import type { ResourceRef } from './types.js';

interface Discoverer {
  getPath<T>(path: string): Promise<T>;
}

interface ApiResource {
  name: string;
  namespaced: boolean;
  verbs: string[];
}

interface GroupList {
  groups: { name: string; preferredVersion?: { version: string }; versions: { version: string }[] }[];
}

export async function discoverNamespacedResources(client: Discoverer): Promise<ResourceRef[]> {
  const [core, apis] = await Promise.all([
    client.getPath<{ versions: string[] }>('/api'),
    client.getPath<GroupList>('/apis'),
  ]);
  const groupVersions: [string, string][] = [
    ...core.versions.map((v): [string, string] => ['', v]),
    ...apis.groups.map((g): [string, string] => [g.name, g.preferredVersion?.version ?? g.versions[0]!.version]),
  ];
  const lists = await Promise.all(
    groupVersions.map(async ([group, version]) => {
      const path = group ? `/apis/${group}/${version}` : `/api/${version}`;
      const list = await client.getPath<{ resources: ApiResource[] }>(path);
      return list.resources
        .filter((r) => r.namespaced && !r.name.includes('/') && r.verbs.includes('list') && r.verbs.includes('delete'))
        .map((r) => ({ group, version, resource: r.name }));
    }),
  );
  return lists.flat();
}

/**
 * The same, remembered for `ttlMs`: the namespace controller asks on every pass over every
 * Terminating namespace, and the set of kinds changes only when plugins do (a restart). A failed
 * discovery is not remembered.
 */
export function cachedDiscovery(client: Discoverer, ttlMs = 30_000): () => Promise<ResourceRef[]> {
  let cached: { at: number; refs: Promise<ResourceRef[]> } | undefined;
  return () => {
    if (cached && Date.now() - cached.at < ttlMs) return cached.refs;
    const refs = discoverNamespacedResources(client);
    const entry = { at: Date.now(), refs };
    cached = entry;
    refs.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return refs;
  };
}
