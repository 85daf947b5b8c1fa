/**
 * Which endpoint a new connection (or UDP client) of one service port goes to, as upstream's
 * userspace proxy's round-robin load balancer: ready endpoints in turn; with sessionAffinity
 * ClientIP, a client keeps its endpoint until it has been idle for the affinity timeout or the
 * endpoint leaves. `next` lists the endpoints to try in order, so the dialer can skip one that
 * refuses and the affinity then follows the one that answered.
 */

export interface Endpoint {
  ip: string;
  port: number;
  /** The node the endpoint runs on (Endpoints' nodeName), for the Local traffic policies. */
  nodeName?: string;
}

export const endpointText = (e: Endpoint) => `${e.ip}:${e.port}`;

interface Affinity {
  endpoint: string;
  lastUsed: number;
}

export class RoundRobin {
  private endpoints: Endpoint[] = [];
  private index = 0;
  private readonly affinity = new Map<string, Affinity>();

  constructor(
    /** sessionAffinity ClientIP's timeout in seconds; 0: no affinity. */
    private affinitySeconds = 0,
  ) {}

  get size(): number {
    return this.endpoints.length;
  }

  list(): readonly Endpoint[] {
    return this.endpoints;
  }

  /** New endpoints (an established connection is not touched); affinities to endpoints gone are dropped. */
  update(endpoints: Endpoint[], affinitySeconds: number): void {
    const same =
      endpoints.length === this.endpoints.length &&
      endpoints.every((e, i) => endpointText(e) === endpointText(this.endpoints[i]!));
    this.affinitySeconds = affinitySeconds;
    if (affinitySeconds === 0) this.affinity.clear();
    if (same) return;
    this.endpoints = endpoints;
    this.index = endpoints.length ? this.index % endpoints.length : 0;
    const live = new Set(endpoints.map(endpointText));
    for (const [client, a] of this.affinity) if (!live.has(a.endpoint)) this.affinity.delete(client);
  }

  /** Every endpoint once, in the order to try them for this client: its affine one first, then round robin. */
  next(clientIP: string, now = Date.now()): Endpoint[] {
    const count = this.endpoints.length;
    if (count === 0) return [];
    const start = this.index;
    this.index = (this.index + 1) % count;
    const order = Array.from({ length: count }, (_, i) => this.endpoints[(start + i) % count]!);
    const sticky = this.affineEndpoint(clientIP, now);
    if (!sticky) return order;
    this.index = start; // the turn was not used
    return [sticky, ...order.filter((e) => e !== sticky)];
  }

  /** The endpoint that answered: with affinity, where this client goes next time. */
  answered(clientIP: string, endpoint: Endpoint, now = Date.now()): void {
    if (this.affinitySeconds > 0) this.affinity.set(clientIP, { endpoint: endpointText(endpoint), lastUsed: now });
  }

  private affineEndpoint(clientIP: string, now: number): Endpoint | undefined {
    if (this.affinitySeconds === 0) return undefined;
    const a = this.affinity.get(clientIP);
    if (!a) return undefined;
    if (now - a.lastUsed > this.affinitySeconds * 1000) {
      this.affinity.delete(clientIP);
      return undefined;
    }
    return this.endpoints.find((e) => endpointText(e) === a.endpoint);
  }
}
