/**
 * A client whose lists and watches of one resource always carry a field selector: what lets the
 * SDK's Informer watch only the pods bound to this node (`spec.nodeName=<node>`), as upstream's
 * kubelet does. The in-process client's frozen watch (which informers prefer) is kept.
 */
import type { ApiClient, ListOptions, ResourceRef, WatchEvent, WatchHandle, WatchOptions } from 'skiff/sdk/client';

type FrozenWatch = (r: ResourceRef, ns: string, o: WatchOptions, on: (e: WatchEvent) => void) => WatchHandle;

export function withFieldSelector(client: ApiClient, fieldSelector: string): ApiClient {
  const scoped = <T extends ListOptions>(options: T | undefined): T => ({ ...(options ?? ({} as T)), fieldSelector });
  const frozen = (client as ApiClient & { watchFrozen?: FrozenWatch }).watchFrozen;
  const wrapper: ApiClient & { watchFrozen?: FrozenWatch } = {
    get: (...args) => client.get(...args),
    list: (r, ns, options) => client.list(r, ns, scoped(options)),
    create: (...args) => client.create(...args),
    update: (...args) => client.update(...args),
    patch: (...args) => client.patch(...args),
    delete: (...args) => client.delete(...args),
    watch: (r, ns, options, on) => client.watch(r, ns, scoped(options), on),
  };
  if (frozen) wrapper.watchFrozen = (r, ns, options, on) => frozen.call(client, r, ns, scoped(options), on);
  return wrapper;
}
