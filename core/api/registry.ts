/**
 * The resource registry: every kind the server serves, contributed by plugins at setup.
 * Discovery, routing and the generic store all read from here, so a plugin that registers a
 * definition gets REST, watch and discovery for free.
 */
import { SkiffError } from '../errors.js';
import { ALL_VERBS, type ResourceDefinition, type SubresourceDefinition, type Verb } from './types.js';

export interface GroupVersion {
  group: string;
  version: string;
}

export function resourceKey(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}

export class ResourceRegistry {
  private readonly byKey = new Map<string, ResourceDefinition>();

  add(def: ResourceDefinition, plugin: string): void {
    const key = resourceKey(def.group, def.version, def.plural);
    if (this.byKey.has(key)) {
      throw new SkiffError(
        'SKIFF_RESOURCE_DUPLICATE',
        `plugin "${plugin}" registers ${def.plural} in ${def.group || 'core'}/${def.version}, which another plugin already serves`,
        'enable only one of the plugins that serve this resource',
      );
    }
    this.byKey.set(key, Object.freeze({ ...def }));
  }

  /** Attach a subresource to a resource another plugin serves (e.g. serviceaccounts/token). */
  addSubresource(
    target: GroupVersion & { plural: string },
    name: string,
    sub: SubresourceDefinition,
    plugin: string,
  ): void {
    const key = resourceKey(target.group, target.version, target.plural);
    const def = this.byKey.get(key);
    if (!def) {
      throw new SkiffError(
        'SKIFF_RESOURCE_MISSING',
        `plugin "${plugin}" adds ${target.plural}/${name}, but no plugin serves ${target.plural} in ${target.group || 'core'}/${target.version}`,
        'enable the plugin that serves it, and list it as a dependency so it sets up first',
      );
    }
    if (def.subresources?.[name] || (name === 'status' && def.hasStatus)) {
      throw new SkiffError(
        'SKIFF_RESOURCE_DUPLICATE',
        `plugin "${plugin}" adds ${target.plural}/${name}, which is already served`,
        'enable only one of the plugins that serve this subresource',
      );
    }
    this.byKey.set(key, Object.freeze({ ...def, subresources: { ...def.subresources, [name]: sub } }));
  }

  find(group: string, version: string, plural: string): ResourceDefinition | undefined {
    return this.byKey.get(resourceKey(group, version, plural));
  }

  all(): ResourceDefinition[] {
    return [...this.byKey.values()];
  }

  /** Group versions in registration order, the legacy core group ('') first. */
  groupVersions(): GroupVersion[] {
    const seen = new Map<string, GroupVersion>();
    for (const d of this.all()) seen.set(`${d.group}/${d.version}`, { group: d.group, version: d.version });
    return [...seen.values()].sort((a, b) => (a.group === '' ? -1 : b.group === '' ? 1 : 0));
  }

  inGroupVersion(group: string, version: string): ResourceDefinition[] {
    return this.all().filter((d) => d.group === group && d.version === version);
  }
}

export function verbsOf(def: ResourceDefinition): readonly Verb[] {
  return def.verbs ?? ALL_VERBS;
}

/** The storage key prefix for a resource, upstream-shaped: "/registry/pods/". */
export function storagePrefix(def: ResourceDefinition): string {
  const custom = def.storagePrefix;
  if (custom) return custom.endsWith('/') ? custom : `${custom}/`;
  return `/registry/${def.plural}/`;
}

export function storageKey(def: ResourceDefinition, namespace: string, name: string): string {
  return def.namespaced ? `${storagePrefix(def)}${namespace}/${name}` : `${storagePrefix(def)}${name}`;
}
