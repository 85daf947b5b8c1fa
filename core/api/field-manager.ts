/**
 * What a field manager plugin contributes (`ctx.provide.fieldManager`): server-side apply (the
 * application/apply-patch+yaml patch type) and field ownership (metadata.managedFields). Core
 * decides when each runs; the plugin decides what the object becomes. Without one, an apply patch
 * is answered as upstream answers a patch type the route does not serve (415), and writes record
 * no managers.
 */
import type { KubeObject, PatchMeta, ResourceDefinition } from './types.js';

export interface FieldManager {
  /**
   * Who a non-apply write by this request records as (upstream: the fieldManager parameter, else
   * the User-Agent's product). Called once for each create, update and patch of a main resource.
   */
  managerOf(query: URLSearchParams, userAgent: string | undefined): string;
  /**
   * Record a create (`live` undefined) or an update by `manager` in next.metadata.managedFields.
   * Called on every tracked write, before it is validated and stored: keep it synchronous and
   * cheap, and leave `live` unchanged. Bodies that are not objects with a metadata object are
   * left alone (the store refuses them). `subresource` is 'status' for a write to the status
   * subresource (upstream records it apart: only .status, under an entry naming the subresource).
   */
  trackUpdate(
    definition: ResourceDefinition,
    manager: string,
    live: KubeObject | undefined,
    next: KubeObject,
    subresource?: string,
  ): void;
  /**
   * Check an applied configuration before anything is read (a 400 for what upstream refuses:
   * another apiVersion, another name, managedFields set, lists without their keys); returns the
   * configuration to apply. `name` is the URL's.
   */
  prepareApply(definition: ResourceDefinition, name: string, config: unknown): KubeObject;
  /**
   * The object an apply by `manager` makes of `live` (undefined: it does not exist yet), with its
   * managedFields. Throws upstream's 409 (FieldManagerConflict causes) on conflicts unless `force`.
   */
  apply(
    definition: ResourceDefinition,
    manager: string,
    live: KubeObject | undefined,
    config: KubeObject,
    force: boolean,
  ): KubeObject;
  /** An apply patch to a subresource (status, scale): `config` merged into `original`, no ownership. */
  mergeApplied(original: object, config: unknown, meta: PatchMeta): object;
}

/** The patch type a field manager serves (kubectl apply --server-side). */
export const APPLY_PATCH_MEDIA_TYPE = 'application/apply-patch+yaml';
