/**
 * The `kubernetes` service's endpoints when several API servers share one store: upstream's lease
 * endpoint reconciler, built on Lease objects (coordination.k8s.io/v1) so that it works on every
 * backend. Each server keeps an identity Lease in kube-system, renewed every interval and carrying
 * its advertised address in annotations; every server rewrites default/kubernetes to the addresses
 * of the unexpired leases. A graceful stop deletes the lease and drops the server at once; the lease
 * of a server that died expires, and the others drop it at that moment (a timer waits for the
 * earliest expiry) and delete the lease.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LeaseSpec } from 'kubernetes-types/coordination/v1.js';
import type { EndpointSubset } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import { errors, type KubeObject, StatusError } from 'skiff/sdk/api';
import { type ApiClient, CORE_V1, microTime, type ResourceRef, type WatchHandle } from 'skiff/sdk/client';
import type { ApiServerEndpoint } from './bootstrap.js';
import { canonical, isObj, objOf } from './field.js';

export const LEASES: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };
export const IDENTITY_LABEL = 'apiserver.kubernetes.io/identity';
export const ADDRESS_ANNOTATION = 'skiff.dev/advertise-address';
export const PORT_ANNOTATION = 'skiff.dev/advertise-port';
export const LEASE_NAMESPACE = 'kube-system';
const SELECTOR = `${IDENTITY_LABEL}=kube-apiserver`;
const ENDPOINTS = CORE_V1('endpoints');
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export interface EndpointReconcilerOptions {
  client: ApiClient;
  /** Where clients reach this server. */
  endpoint: ApiServerEndpoint;
  leaseDurationSeconds: number;
  intervalSeconds: number;
  logger: Logger;
  /** False without the Lease API (api-coordination-v1 off): this server is then the only endpoint. */
  leases: boolean;
  now?: () => number;
  hostname?: string;
}

const isCode = (err: unknown, ...codes: number[]) => err instanceof StatusError && codes.includes(err.code);

function base32(bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xfff;
    bits += 8;
    for (; bits >= 5; bits -= 5) out += alphabet[(value >>> (bits - 5)) & 31];
  }
  return bits > 0 ? out + alphabet[(value << (5 - bits)) & 31] : out;
}

/**
 * Upstream names the lease kube-apiserver-<base32 of sha256(hostname)>; several Skiff servers share
 * a machine, so the advertised address and port join the hostname.
 */
export function apiServerIdentity(host: string, endpoint: ApiServerEndpoint): string {
  const digest = createHash('sha256').update(`${host}\n${endpoint.address}:${endpoint.port}`).digest();
  return `kube-apiserver-${base32(digest.subarray(0, 16))}`;
}

/** A lease's advertised endpoint and expiry; undefined for leases that do not say where they are. */
export function memberOf(lease: KubeObject): (ApiServerEndpoint & { expires: number }) | undefined {
  const notes = lease.metadata.annotations ?? {};
  const port = Number(notes[PORT_ANNOTATION]);
  const spec = objOf(lease.spec);
  const renewed = typeof spec.renewTime === 'string' ? Date.parse(spec.renewTime) : Number.NaN;
  const duration = typeof spec.leaseDurationSeconds === 'number' ? spec.leaseDurationSeconds : 0;
  if (!notes[ADDRESS_ANNOTATION] || !Number.isInteger(port) || port <= 0 || Number.isNaN(renewed)) return undefined;
  return { address: notes[ADDRESS_ANNOTATION], port, expires: renewed + duration * 1000 };
}

/** One subset per port (normally one: every server serves the same port), addresses sorted as upstream. */
export function endpointSubsets(endpoints: ApiServerEndpoint[]): EndpointSubset[] {
  const byPort = new Map<number, Set<string>>();
  for (const { address, port } of endpoints) byPort.set(port, (byPort.get(port) ?? new Set()).add(address));
  return [...byPort]
    .sort(([a], [b]) => a - b)
    .map(([port, ips]) => ({
      addresses: [...ips].sort().map((ip) => ({ ip })),
      ports: [{ name: 'https', port, protocol: 'TCP' }],
    }));
}

/** Write default/kubernetes's subsets unless they already are these; compare-and-swap, retried. */
export async function writeKubernetesEndpoints(client: ApiClient, subsets: EndpointSubset[]): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    let current: KubeObject;
    try {
      current = await client.get(ENDPOINTS, 'default', 'kubernetes');
    } catch (err) {
      if (!isCode(err, 404)) throw err;
      const metadata = {
        name: 'kubernetes',
        namespace: 'default',
        labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
      };
      try {
        await client.create(ENDPOINTS, 'default', { metadata, subsets });
        return true;
      } catch (e) {
        if (isCode(e, 409)) continue;
        throw e;
      }
    }
    if (canonical(current.subsets) === canonical(subsets)) return false;
    try {
      await client.update(ENDPOINTS, 'default', { ...current, subsets });
      return true;
    } catch (err) {
      if (!isCode(err, 409, 404)) throw err;
    }
  }
  throw errors.conflict(
    { group: '', resource: 'endpoints' },
    'kubernetes',
    'it kept changing; the next reconcile tries again',
  );
}

export class ApiServerEndpoints {
  /** The Lease's name. */
  readonly identity: string;
  /** Upstream's holderIdentity: the identity and a per-start uuid. */
  readonly holder: string;
  private readonly host: string;
  private running = false;
  private acquired?: string;
  private chain: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private expiryTimer?: NodeJS.Timeout;
  private watchTimer?: NodeJS.Timeout;
  private watch?: WatchHandle;
  private published = '';

  constructor(private readonly options: EndpointReconcilerOptions) {
    this.host = options.hostname ?? hostname();
    this.identity = apiServerIdentity(this.host, options.endpoint);
    this.holder = `${this.identity}_${randomUUID()}`;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Take the lease, publish, then renew and reconcile every interval. Failures are logged and retried. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.timer = setInterval(() => void this.tick(), this.options.intervalSeconds * 1000).unref();
    if (this.options.leases) this.watchLeases();
    await this.tick();
  }

  /**
   * Graceful: delete the lease and drop this server from the endpoints now. Bounded by the lease
   * duration: with storage unreachable, shutdown should not wait longer than the lease would last.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.halt();
    // A lone server keeps its address: upstream never erases the last one either (see pass()).
    if (!this.options.leases) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.min(5, this.options.leaseDurationSeconds) * 1000).unref();
    });
    await Promise.race([this.leave(), deadline]);
    clearTimeout(timer);
  }

  private async leave(): Promise<void> {
    try {
      await this.options.client.delete(LEASES, LEASE_NAMESPACE, this.identity);
    } catch (err) {
      if (!isCode(err, 404)) this.options.logger.warn({ err }, 'could not delete the API server lease');
    }
    await this.reconcile();
  }

  /** Stop renewing and reconciling without cleaning up, as a server that died would (tests use it). */
  halt(): void {
    this.running = false;
    clearInterval(this.timer);
    clearTimeout(this.expiryTimer);
    clearTimeout(this.watchTimer);
    this.watch?.stop();
  }

  /** One reconcile pass after every call so far; concurrent calls share the pass that is queued. */
  reconcile(): Promise<void> {
    this.queued ??= this.chain = this.chain.then(() => {
      this.queued = undefined;
      return this.pass();
    });
    return this.queued;
  }

  private async tick(): Promise<void> {
    try {
      await this.renew();
    } catch (err) {
      this.options.logger.warn({ err }, 'could not renew the API server lease');
    }
    await this.reconcile();
  }

  private async renew(): Promise<void> {
    if (!this.options.leases || !this.running) return;
    const now = this.now();
    this.acquired ??= microTime(now);
    // A PUT without resourceVersion: ours alone to write, and it re-creates a lease collected as expired.
    await this.options.client.update(LEASES, LEASE_NAMESPACE, this.lease(now));
  }

  private lease(now: number): KubeObject {
    const { address, port } = this.options.endpoint;
    const labels: Record<string, string> = { [IDENTITY_LABEL]: 'kube-apiserver' };
    if (LABEL_VALUE.test(this.host)) labels['kubernetes.io/hostname'] = this.host;
    const spec: LeaseSpec = {
      holderIdentity: this.holder,
      leaseDurationSeconds: this.options.leaseDurationSeconds,
      acquireTime: this.acquired,
      renewTime: microTime(now),
    };
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.identity,
        namespace: LEASE_NAMESPACE,
        labels,
        annotations: { [ADDRESS_ANNOTATION]: address, [PORT_ANNOTATION]: String(port) },
      },
      spec,
    };
  }

  private async pass(): Promise<void> {
    try {
      const endpoints = await this.liveEndpoints();
      // Upstream refuses to erase every endpoint: with no server left, the last address stays.
      if (endpoints.length === 0) return;
      const subsets = endpointSubsets(endpoints);
      await writeKubernetesEndpoints(this.options.client, subsets);
      const now = canonical(subsets);
      if (now !== this.published) this.options.logger.info({ subsets }, 'kubernetes service endpoints reconciled');
      this.published = now;
    } catch (err) {
      this.options.logger.warn({ err }, 'could not reconcile the kubernetes service endpoints');
    }
  }

  /** This server while it runs, and every other server whose lease has not expired; expired ones are collected. */
  private async liveEndpoints(): Promise<ApiServerEndpoint[]> {
    const self = this.running ? [this.options.endpoint] : [];
    if (!this.options.leases) return self;
    const { items } = await this.options.client.list(LEASES, LEASE_NAMESPACE, { labelSelector: SELECTOR });
    const now = this.now();
    const others: (ApiServerEndpoint & { expires: number })[] = [];
    for (const lease of items) {
      const member = memberOf(lease);
      if (lease.metadata.name === this.identity || !member) continue;
      if (member.expires > now) others.push(member);
      else await this.collect(lease);
    }
    this.wakeAtExpiry(others.map((m) => m.expires));
    return [...self, ...others.map(({ address, port }) => ({ address, port }))];
  }

  /** Delete an expired lease unless its holder renewed it meanwhile (the precondition fails then). */
  private async collect(lease: KubeObject): Promise<void> {
    const { name = '', resourceVersion } = lease.metadata;
    try {
      await this.options.client.delete(LEASES, LEASE_NAMESPACE, name, { preconditions: { resourceVersion } });
      this.options.logger.info({ lease: name }, 'API server lease expired; dropped from the kubernetes endpoints');
    } catch (err) {
      if (!isCode(err, 404, 409)) throw err;
    }
  }

  /** A dead server drops out when its lease expires, not at the next interval. */
  private wakeAtExpiry(expiries: number[]): void {
    clearTimeout(this.expiryTimer);
    if (!this.running || expiries.length === 0) return;
    const wait = Math.max(0, Math.min(...expiries) - this.now()) + 20;
    if (wait >= this.options.intervalSeconds * 1000) return;
    this.expiryTimer = setTimeout(() => void this.reconcile(), wait).unref();
  }

  /** Another server joining, leaving or moving shows up here at once; renewals alone do not matter. */
  private watchLeases(): void {
    const seen = new Map<string, string>();
    this.watch = this.options.client.watch(LEASES, LEASE_NAMESPACE, { labelSelector: SELECTOR }, (e) => {
      const name = isObj(e.object?.metadata) ? (e.object.metadata.name ?? '') : '';
      if (e.type === 'BOOKMARK' || e.type === 'ERROR' || name === this.identity) return;
      const member = memberOf(e.object);
      const where = member ? `${member.address}:${member.port}` : '';
      const moved = e.type !== 'MODIFIED' || seen.get(name) !== where;
      if (e.type === 'DELETED') seen.delete(name);
      else seen.set(name, where);
      if (moved) void this.reconcile();
    });
    void this.watch.done.then(() => {
      if (this.running) this.watchTimer = setTimeout(() => this.running && this.watchLeases(), 1000).unref();
    });
  }
}
