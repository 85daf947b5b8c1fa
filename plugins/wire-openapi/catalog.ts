/** The served resources as the documents need them: by group version, with their verbs. */
import type { ResourceCatalog } from 'skiff/sdk';
import { ALL_VERBS, type ResourceDefinition, type Verb } from 'skiff/sdk/api';

export function verbsOf(def: ResourceDefinition): readonly Verb[] {
  return def.verbs ?? ALL_VERBS;
}

/** Every group version served, the core group first (as discovery lists them). */
export function groupVersions(catalog: ResourceCatalog): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const d of catalog.all()) seen.set(`${d.group}/${d.version}`, { group: d.group, version: d.version });
  return [...seen.values()].sort((a, b) => (a.group === '' ? -1 : b.group === '' ? 1 : 0));
}

export function inGroupVersion(catalog: ResourceCatalog, group: string, version: string): ResourceDefinition[] {
  return catalog.all().filter((d) => d.group === group && d.version === version);
}
