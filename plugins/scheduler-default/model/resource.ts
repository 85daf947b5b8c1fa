/**
 * Resource amounts as upstream's framework.Resource counts them: CPU in millicores and everything
 * else in whole units, rounded up as resource.Quantity's MilliValue/Value do. Quantity strings are
 * parsed once each (pods repeat the same few), so a request costs a Map lookup.
 */

import { parseQuantity } from 'skiff/sdk/api';
import type { Resource } from 'skiff/sdk/scheduler';

const NANO_PER_MILLI = 1_000_000n;
const NANO_PER_UNIT = 1_000_000_000n;
const milliCache = new Map<string, number>();
const unitCache = new Map<string, number>();
const CACHE_MAX = 4096;

function rounded(value: unknown, per: bigint, cache: Map<string, number>): number {
  const key = typeof value === 'string' ? value : String(value);
  const known = cache.get(key);
  if (known !== undefined) return known;
  const nano = parseQuantity(value) ?? 0n;
  // Upstream rounds up (ceil) when scaling a quantity down to its milli/unit value.
  const q = nano / per + (nano % per > 0n ? 1n : 0n);
  const n = Number(q);
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, n);
  return n;
}

export const milliValue = (v: unknown): number => rounded(v, NANO_PER_MILLI, milliCache);
export const unitValue = (v: unknown): number => rounded(v, NANO_PER_UNIT, unitCache);

/** Upstream's IsScalarResourceName: extended (a domain prefix), hugepages-*, attachable-volumes-*. */
export function isScalarResource(name: string): boolean {
  return name.includes('/') || name.startsWith('hugepages-') || name.startsWith('attachable-volumes-');
}

/** Extended resources: domain-prefixed, and not in the kubernetes.io namespace. */
export function isExtendedResource(name: string): boolean {
  return name.includes('/') && !name.includes('kubernetes.io/') && !name.startsWith('requests.');
}

export function emptyResource(): Resource {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, allowedPodNumber: 0 };
}

export function cloneResource(r: Resource): Resource {
  return { ...r, scalar: r.scalar ? new Map(r.scalar) : undefined };
}

type ResourceList = Record<string, unknown>;

/** Adds a ResourceList (requests, overhead, allocatable) into `into`. */
export function addList(into: Resource, list: ResourceList | undefined, sign = 1): void {
  if (!list) return;
  for (const name in list) {
    const v = list[name];
    if (name === 'cpu') into.milliCPU += sign * milliValue(v);
    else if (name === 'memory') into.memory += sign * unitValue(v);
    else if (name === 'ephemeral-storage') into.ephemeralStorage += sign * unitValue(v);
    else if (name === 'pods') into.allowedPodNumber += sign * unitValue(v);
    else if (isScalarResource(name)) {
      into.scalar ??= new Map();
      into.scalar.set(name, (into.scalar.get(name) ?? 0) + sign * unitValue(v));
    }
  }
}

/** Adds one Resource into another (sign -1 subtracts). */
export function addResource(into: Resource, r: Resource, sign = 1): void {
  into.milliCPU += sign * r.milliCPU;
  into.memory += sign * r.memory;
  into.ephemeralStorage += sign * r.ephemeralStorage;
  into.allowedPodNumber += sign * r.allowedPodNumber;
  if (!r.scalar) return;
  into.scalar ??= new Map();
  for (const [name, v] of r.scalar) into.scalar.set(name, (into.scalar.get(name) ?? 0) + sign * v);
}

/** `into` becomes the larger of itself and `r` in each dimension. */
export function maxResource(into: Resource, r: Resource): void {
  into.milliCPU = Math.max(into.milliCPU, r.milliCPU);
  into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  if (!r.scalar) return;
  into.scalar ??= new Map();
  for (const [name, v] of r.scalar) into.scalar.set(name, Math.max(into.scalar.get(name) ?? 0, v));
}

export function resourceOf(list: ResourceList | undefined): Resource {
  const r = emptyResource();
  addList(r, list);
  return r;
}

/** A resource's amount by name ('cpu' in millicores). */
export function amountOf(r: Resource, name: string): number {
  switch (name) {
    case 'cpu':
      return r.milliCPU;
    case 'memory':
      return r.memory;
    case 'ephemeral-storage':
      return r.ephemeralStorage;
    case 'pods':
      return r.allowedPodNumber;
    default:
      return r.scalar?.get(name) ?? 0;
  }
}
