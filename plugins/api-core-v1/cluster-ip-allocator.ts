/**
 * The ClusterIP and NodePort allocators (upstream's ipallocator and portallocator, single-stack
 * IPv4), with upstream's error messages. Both read the stored services to learn what is in use
 * and, given a storage accessor, claim every value in storage so that servers sharing it agree.
 * One pair per server (allocators.ts builds them), handed to the service strategy.
 *
 * Dynamic values come at random from the upper part of each range (upstream since 1.29): the
 * lower "static" band is used only once the rest is full, so values users pin there stay free.
 */
import type { KubeObject } from 'skiff/sdk/api';
import type { Storage } from 'skiff/sdk/storage';
import { StorageClaims } from './allocation-claims.js';
import { isObj, listOf, objOf } from './field.js';
import { RangeAllocator, type RangeAllocatorOptions, type StoredHold } from './range-allocator.js';

export class AllocationError extends Error {
  override readonly name = 'AllocationError';
  constructor(
    readonly reason: 'allocated' | 'not-in-range' | 'full',
    message: string,
  ) {
    super(message);
  }
}

export function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** An IPv4 CIDR, host bits cleared; undefined when malformed or IPv6. */
export function parseIPv4Cidr(cidr: string): { base: number; prefix: number } | undefined {
  const [ip, bits, extra] = cidr.split('/');
  const addr = parseIPv4(ip ?? '');
  if (addr === undefined || extra !== undefined || !/^\d{1,2}$/.test(bits ?? '') || Number(bits) > 32) return undefined;
  const prefix = Number(bits);
  const size = 2 ** (32 - prefix);
  return { base: addr - (addr % size), prefix };
}

/**
 * Upstream's calculateRangeOffset, min(max(least, size / step), most), 0 for ranges of `least`
 * values or fewer: ClusterIPs 16, 16, 256 over the CIDR's size (KEP-3070); NodePorts 16, 32, 128
 * over the port count (KEP-3668). 10.96.0.0/12 keeps 256 addresses, 30000-32767 keeps 86 ports.
 */
export function staticBandSize(size: number, least: number, step: number, most: number): number {
  if (size <= least) return 0;
  return Math.min(Math.max(least, Math.floor(size / step)), most);
}

/** The owner key of a service's allocations. */
export function ownerOf(svc: KubeObject): string {
  return `${svc.metadata.namespace ?? ''}/${svc.metadata.name ?? ''}`;
}

/** The stored services (at `revision` when given). */
export type ServiceLister = (revision?: number) => Promise<KubeObject[]>;

export interface AllocatorOptions extends Partial<Omit<RangeAllocatorOptions, 'claims'>> {
  /**
   * Claim values in this storage (see allocation-claims.ts); asked once, at first use (storage
   * opens after setup). Without it, or when it answers undefined, allocation is per process.
   */
  storage?: () => Storage | undefined;
}

function claimsIn(
  options: AllocatorOptions,
  range: string,
  name: (o: number) => string,
  offset: (n: string) => number | undefined,
): () => StorageClaims | undefined {
  let claims: StorageClaims | undefined;
  let decided = false;
  return () => {
    if (!decided) {
      const storage = options.storage?.();
      claims = storage && new StorageClaims(() => storage, range, { name, offset }, options.now);
      decided = true;
    }
    return claims;
  };
}

export class ClusterIPAllocator {
  readonly cidr: string;
  /** The first usable address, kept for the `kubernetes` service. */
  readonly kubernetesServiceIP: string;
  private readonly base: number;
  private readonly size: number;
  private readonly ranges: RangeAllocator;

  constructor(cidr: string, listServices: ServiceLister, options: AllocatorOptions = {}) {
    const parsed = parseIPv4Cidr(cidr);
    if (!parsed || parsed.prefix > 30) throw new Error(`invalid service cluster IP range ${cidr}`);
    this.base = parsed.base;
    this.size = 2 ** (32 - parsed.prefix);
    this.cidr = `${formatIPv4(this.base)}/${parsed.prefix}`;
    this.kubernetesServiceIP = formatIPv4(this.base + 1);
    const { storage: _storage, ...rangeOptions } = options;
    this.ranges = new RangeAllocator({
      ...rangeOptions,
      size: this.size,
      unusable: (o) => o === 0 || o === this.size - 1,
      reserved: (o) => o === 1,
      // Upstream counts from the first usable address (offset 1 here), so its band ends one further.
      dynamicFrom: 1 + staticBandSize(this.size, 16, 16, 256),
      load: async (revision) => (await listServices(revision)).flatMap((svc) => this.holdsOf(svc)),
      claims: claimsIn(
        options,
        'serviceips',
        (o) => formatIPv4(this.base + o),
        (ip) => this.offsetOf(ip),
      ),
    });
  }

  private offsetOf(ip: string): number | undefined {
    const n = parseIPv4(ip);
    return n === undefined ? undefined : n - this.base;
  }

  private holdsOf(svc: KubeObject): StoredHold[] {
    const spec = objOf(svc.spec);
    const ips = listOf(spec.clusterIPs).length ? listOf(spec.clusterIPs) : [spec.clusterIP];
    return ips
      .map((ip) => (typeof ip === 'string' ? this.offsetOf(ip) : undefined))
      .filter((o): o is number => o !== undefined && this.ranges.inRange(o))
      .map((offset) => ({ offset, owner: ownerOf(svc) }));
  }

  contains(ip: string): boolean {
    const o = this.offsetOf(ip);
    return o !== undefined && this.ranges.inRange(o);
  }

  /** Claim `ip` for `owner`; throws AllocationError with upstream's message. */
  async allocate(ip: string, owner: string, dryRun = false): Promise<void> {
    const result = await this.ranges.allocate(this.offsetOf(ip) ?? -1, owner, dryRun);
    if (result === 'out-of-range') {
      throw new AllocationError(
        'not-in-range',
        `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.cidr}`,
      );
    }
    if (result === 'allocated') throw new AllocationError('allocated', 'provided IP is already allocated');
  }

  /** Any free address (the owner's own, if it still holds one), never the kubernetes service's. */
  async allocateNext(owner: string, dryRun = false): Promise<string> {
    const [own] = await this.ranges.heldBy(owner);
    // Claimed again: with shared storage the hold in memory may have been reclaimed meanwhile.
    const kept = own !== undefined && (await this.ranges.allocate(own, owner, dryRun)) === 'ok';
    const offset = kept ? own : await this.ranges.allocateNext(owner, dryRun);
    if (offset === undefined) throw new AllocationError('full', 'range is full');
    return formatIPv4(this.base + offset);
  }

  async release(ip: string, owner: string): Promise<void> {
    const o = this.offsetOf(ip);
    if (o !== undefined && this.ranges.inRange(o)) await this.ranges.release(o, owner);
  }
}

export class NodePortAllocator {
  private readonly ranges: RangeAllocator;

  constructor(
    readonly first: number,
    readonly last: number,
    listServices: ServiceLister,
    options: AllocatorOptions = {},
  ) {
    const portOffset = (name: string) => (/^\d{1,5}$/.test(name) ? Number(name) - first : undefined);
    const { storage: _storage, ...rangeOptions } = options;
    this.ranges = new RangeAllocator({
      ...rangeOptions,
      size: last - first + 1,
      dynamicFrom: staticBandSize(last - first + 1, 16, 32, 128),
      load: async (revision) =>
        (await listServices(revision)).flatMap((svc) =>
          nodePortsOf(svc)
            .map((p) => p - first)
            .filter((o) => this.ranges.inRange(o))
            .map((offset) => ({ offset, owner: ownerOf(svc) })),
        ),
      claims: claimsIn(options, 'servicenodeports', (o) => String(first + o), portOffset),
    });
  }

  get range(): string {
    return `${this.first}-${this.last}`;
  }

  async allocate(port: number, owner: string, dryRun = false): Promise<void> {
    const result = await this.ranges.allocate(port - this.first, owner, dryRun);
    if (result === 'out-of-range') {
      throw new AllocationError(
        'not-in-range',
        `provided port is not in the valid range. The range of valid ports is ${this.range}`,
      );
    }
    if (result === 'allocated') throw new AllocationError('allocated', 'provided port is already allocated');
  }

  async allocateNext(owner: string, dryRun = false): Promise<number> {
    const offset = await this.ranges.allocateNext(owner, dryRun);
    if (offset === undefined) throw new AllocationError('full', 'range is full');
    return this.first + offset;
  }

  async release(port: number, owner: string): Promise<void> {
    if (this.ranges.inRange(port - this.first)) await this.ranges.release(port - this.first, owner);
  }
}

/** The allocators the service strategy draws from: one pair per server. */
export interface ServiceAllocators {
  clusterIPs: ClusterIPAllocator;
  nodePorts: NodePortAllocator;
}

/** Every node port a service holds (ports[].nodePort and healthCheckNodePort). */
export function nodePortsOf(svc: KubeObject): number[] {
  const spec = objOf(svc.spec);
  const ports = listOf(spec.ports).map((p) => (isObj(p) ? p.nodePort : undefined));
  return [...ports, spec.healthCheckNodePort].filter((p): p is number => typeof p === 'number' && p > 0);
}
