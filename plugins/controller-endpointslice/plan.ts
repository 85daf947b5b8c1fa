/**
 * Upstream's EndpointSlice reconciler, as a pure function: given the slices a controller manages
 * for one Service and the endpoints it wants (grouped by address type and ports), which slices to
 * create, update and delete. It changes as few slices as it can: endpoints stay in the slice they
 * are in, a slice left empty goes, new endpoints first fill slices that are written anyway, then
 * one existing slice that can take them all, and only then new slices of at most `maxPerSlice`.
 * A slice about to be deleted is reused for one about to be created (upstream's recycleSlices).
 */
import type { Endpoint, EndpointPort } from 'kubernetes-types/discovery/v1.js';
import { endpointKey, groupKey, type Slice, sameEndpoint } from './slices.js';

export interface DesiredGroup {
  addressType: string;
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

/** A slice's content to write: `slice` is the existing slice it updates, undefined for a new one. */
export interface SliceContent {
  slice?: Slice;
  addressType: string;
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

export interface Plan {
  create: SliceContent[];
  update: SliceContent[];
  delete: Slice[];
}

export interface PlanOptions {
  maxPerSlice: number;
  /** Whether a slice's labels, annotations and owner are already what they must be. */
  metadataCurrent(slice: Slice): boolean;
  /**
   * The EndpointSlice controller keeps one empty slice of this address type for a Service without
   * endpoints (upstream's placeholder); undefined (mirroring): none.
   */
  placeholderType?: string;
}

function planGroup(slices: readonly Slice[], group: DesiredGroup, options: PlanOptions, plan: Plan): void {
  const max = options.maxPerSlice;
  const remaining = new Map(group.endpoints.map((e) => [endpointKey(e), e]));
  const updating: SliceContent[] = [];
  const untouched: Slice[] = [];
  for (const slice of slices) {
    const kept: Endpoint[] = [];
    let changed = !options.metadataCurrent(slice);
    for (const ep of slice.endpoints ?? []) {
      const want = remaining.get(endpointKey(ep));
      if (!want || kept.length >= max) {
        changed = true;
        continue;
      }
      remaining.delete(endpointKey(ep));
      if (!sameEndpoint(want, ep)) changed = true;
      kept.push(want);
    }
    if (kept.length === 0) plan.delete.push(slice);
    else if (changed) updating.push({ slice, addressType: group.addressType, ports: group.ports, endpoints: kept });
    else untouched.push(slice);
  }
  const left = [...remaining.values()];
  for (const content of updating) {
    while (left.length && content.endpoints.length < max) content.endpoints.push(left.shift()!);
  }
  const roomy = left.length ? untouched.find((s) => (s.endpoints?.length ?? 0) + left.length <= max) : undefined;
  if (roomy) {
    const endpoints = [...(roomy.endpoints ?? []), ...left.splice(0)];
    updating.push({ slice: roomy, addressType: group.addressType, ports: group.ports, endpoints });
  }
  while (left.length)
    plan.create.push({ addressType: group.addressType, ports: group.ports, endpoints: left.splice(0, max) });
  plan.update.push(...updating);
}

const isPlaceholder = (s: Slice, type: string) => s.addressType === type && !s.endpoints?.length && !s.ports?.length;

/** Keeps (or makes) one empty slice when the service would otherwise have none. */
function keepPlaceholder(existing: readonly Slice[], plan: Plan, options: PlanOptions, type: string): void {
  if (existing.length - plan.delete.length + plan.create.length > 0) return;
  const kept = plan.delete.findIndex((s) => isPlaceholder(s, type));
  if (kept < 0) {
    plan.create.push({ addressType: type, ports: [], endpoints: [] });
    return;
  }
  const [slice] = plan.delete.splice(kept, 1);
  if (!options.metadataCurrent(slice!)) plan.update.push({ slice, addressType: type, ports: [], endpoints: [] });
}

/** Turns creates into updates of slices that would be deleted, of the same address type. */
function recycle(plan: Plan): void {
  for (const content of [...plan.create]) {
    const reuse = plan.delete.findIndex((s) => s.addressType === content.addressType);
    if (reuse < 0) continue;
    const [slice] = plan.delete.splice(reuse, 1);
    plan.create.splice(plan.create.indexOf(content), 1);
    plan.update.push({ ...content, slice });
  }
}

export function planSlices(existing: readonly Slice[], desired: readonly DesiredGroup[], options: PlanOptions): Plan {
  const plan: Plan = { create: [], update: [], delete: [] };
  const byKey = new Map<string, Slice[]>();
  for (const slice of existing) {
    const key = groupKey(slice.addressType, slice.ports ?? []);
    byKey.set(key, [...(byKey.get(key) ?? []), slice]);
  }
  const wanted = new Set<string>();
  for (const group of desired) {
    const key = groupKey(group.addressType, group.ports);
    wanted.add(key);
    planGroup(byKey.get(key) ?? [], group, options, plan);
  }
  for (const [key, slices] of byKey) if (!wanted.has(key)) plan.delete.push(...slices);
  if (options.placeholderType) keepPlaceholder(existing, plan, options, options.placeholderType);
  recycle(plan);
  return plan;
}
