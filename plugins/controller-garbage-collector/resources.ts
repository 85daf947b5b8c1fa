/**
 * Which kinds the collector watches and how it finds an owner by its reference (upstream's
 * GetDeletableResources and RESTMapper): every served resource that can be listed, watched and
 * deleted, events aside (upstream ignores them: nothing owns an Event worth collecting), one
 * version per group and resource; an ownerReference's apiVersion and kind name the resource, in
 * that version or, failing that, another version of the same group.
 */
import type { ControllerContext, ResourceRef } from 'skiff/sdk';
import type { ServedResource } from 'skiff/sdk/client';

const IGNORED = new Set(['/events', 'events.k8s.io/events']);

const apiVersionOf = (r: { group: string; version: string }) => (r.group ? `${r.group}/${r.version}` : r.version);
const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

export class RestMapper {
  private resources: ServedResource[] = [];

  constructor(private readonly c: ControllerContext) {}

  /** Reads the served resources (discovery, or the registry in the API server's process). */
  async load(): Promise<void> {
    this.resources = this.c.servedResources ? await this.c.servedResources() : await this.fromNamespaced();
  }

  /** Every resource to watch, once per group and resource. */
  monitored(): ServedResource[] {
    const seen = new Set<string>();
    return this.resources.filter((r) => {
      const key = `${r.group}/${r.resource}`;
      const watchable = ['list', 'watch', 'delete'].every((v) => r.verbs.includes(v));
      if (!watchable || IGNORED.has(key) || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  /** The resource an ownerReference names, or undefined when the server serves no such kind. */
  resourceFor(apiVersion: string, kind: string): ServedResource | undefined {
    const exact = this.resources.find((r) => r.kind === kind && apiVersionOf(r) === apiVersion);
    return exact ?? this.resources.find((r) => r.kind === kind && r.group === groupOf(apiVersion));
  }

  /** Without discovery in the context: the namespaced resources, each listed once to learn its kind. */
  private async fromNamespaced(): Promise<ServedResource[]> {
    const refs = await this.c.namespacedResources();
    return Promise.all(
      refs.map(async (ref: ResourceRef) => {
        const list = await this.c.client.list(ref, '', { limit: 1 });
        const kind = list.kind.replace(/List$/, '');
        return { ...ref, kind, namespaced: true, verbs: ['list', 'watch', 'get', 'delete', 'patch', 'update'] };
      }),
    );
  }
}

export { apiVersionOf };
