/**
 * The proxier: informers on Services, Endpoints, EndpointSlices (where served) and Nodes; after any change (within one event-loop
 * turn, so well inside upstream's 1 s) it works out which addresses and ports to serve and which
 * endpoints stand behind each, opens the listeners that are missing and closes those no longer
 * wanted. A listener's connections outlive a change to its endpoints (only new connections see
 * them) and the closing of the listener itself; stopping the proxier cuts them all.
 */
import type { Endpoints, Node, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Logger } from 'pino';
import type { ApiClient } from 'skiff/sdk';
import { CORE_V1, Informer } from 'skiff/sdk/client';
import { type Endpoint, RoundRobin } from './balancer.js';
import { type Cidr, containsIp } from './cidr.js';
import { type ServicePortEntry, serviceKey, servicePorts } from './model.js';
import { type LocalAddresses, localNodeNames, nodePortAddresses } from './node-addresses.js';
import { type Listener, listenTcp, type Route } from './tcp-proxy.js';
import { listenUdp } from './udp-proxy.js';

export interface ProxierOptions {
  client: ApiClient;
  logger: Logger;
  /** The service range made local; undefined: ClusterIPs are not served (only NodePorts). */
  serviceRange?: Cidr;
  /** --nodeport-addresses: CIDRs of this host's addresses to serve NodePorts on; empty: its nodes' addresses and 127.0.0.1. */
  nodePortCIDRs: Cidr[];
  /** The node this proxy runs on (--hostname-override), beside the nodes whose addresses are this host's. */
  nodeName?: string;
  udpIdleMs: number;
  addresses: LocalAddresses;
}

interface PortState {
  entry: ServicePortEntry;
  /** ClusterIP traffic (internalTrafficPolicy). */
  internal: RoundRobin;
  /** NodePort traffic (externalTrafficPolicy). */
  external: RoundRobin;
}

interface Wanted {
  protocol: 'TCP' | 'UDP';
  host: string;
  port: number;
  key: string;
  external: boolean;
}

/** How often listen failures and this host's addresses are looked at again. */
const RESYNC_MS = 2_000;

const ENDPOINT_SLICES = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' };
/** The label an EndpointSlice names its Service with. */
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const listenerId = (w: Pick<Wanted, 'protocol' | 'host' | 'port'>) => `${w.protocol}/${w.host}:${w.port}`;

export class Proxier {
  private readonly services: Informer;
  private readonly endpoints: Informer;
  private readonly nodes: Informer;
  private slices?: Informer;
  private readonly abort = new AbortController();
  private readonly ports = new Map<string, PortState>();
  private readonly listeners = new Map<string, { listener: Listener; wanted: Wanted }>();
  private readonly refused = new Set<string>();
  /** A listen failed (retried every RESYNC_MS), or this host's addresses changed since the last sync. */
  private retry = false;
  private addressesSeen = '';
  private resyncTimer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private pending = false;
  private synced = false;
  private firstSync: Promise<void> = new Promise(() => undefined);
  /** When the last sync finished (for /healthz), and how many have run. */
  lastSync = 0;
  syncs = 0;

  constructor(private readonly options: ProxierOptions) {
    const { client, logger } = options;
    this.services = new Informer(client, CORE_V1('services'), logger);
    this.endpoints = new Informer(client, CORE_V1('endpoints'), logger);
    this.nodes = new Informer(client, CORE_V1('nodes'), logger);
  }

  /**
   * Starts the informers and returns at once: the first sync comes when all three have listed (an
   * API server that refuses or is down keeps the proxier waiting, and retrying, not its caller).
   */
  start(): void {
    const signal = this.abort.signal;
    const onChange = () => {
      if (this.synced) this.schedule();
    };
    for (const informer of [this.services, this.endpoints, this.nodes]) void informer.run(signal, onChange);
    const core = [this.services.hasSynced(), this.endpoints.hasSynced(), this.nodes.hasSynced()];
    this.firstSync = Promise.all(core)
      .then(() => this.startSlices(signal, onChange))
      .then(() => {
        this.synced = true;
        this.schedule();
        // A node's address may appear on this host later (the pod bridge's gateway), or a port another
        // program held may be freed: neither is an API event.
        this.resyncTimer = setInterval(() => {
          if (this.retry || this.addressKey() !== this.addressesSeen) this.schedule();
        }, RESYNC_MS);
        this.resyncTimer.unref();
        return this.chain;
      });
  }

  /** EndpointSlices, where the API serves them and the proxy may read them (else Endpoints alone). */
  private async startSlices(signal: AbortSignal, onChange: () => void): Promise<void> {
    try {
      await this.options.client.list(ENDPOINT_SLICES, '', { limit: 1 });
    } catch (err) {
      this.options.logger.info(
        { reason: (err as Error).message },
        'EndpointSlices not readable: endpoints come from Endpoints',
      );
      return;
    }
    this.slices = new Informer(this.options.client, ENDPOINT_SLICES, this.options.logger);
    void this.slices.run(signal, onChange);
    await this.slices.hasSynced();
  }

  /** Resolves after the first sync (never, if the informers never list). */
  whenSynced(): Promise<void> {
    return this.firstSync;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.resyncTimer);
    await this.chain;
    for (const { listener } of this.listeners.values()) listener.closeAll();
    this.listeners.clear();
  }

  /** Addresses served now, `TCP/10.96.0.10:80` style (for tests and the log). */
  served(): string[] {
    return [...this.listeners.keys()].sort();
  }

  private schedule(): void {
    if (this.pending || this.abort.signal.aborted) return;
    this.pending = true;
    this.chain = this.chain.then(async () => {
      this.pending = false;
      if (this.abort.signal.aborted) return;
      try {
        await this.sync();
      } catch (err) {
        this.options.logger.error({ err }, 'proxy sync failed');
      }
    });
  }

  private addressKey(): string {
    return [...this.options.addresses()].sort().join(',');
  }

  private async sync(): Promise<void> {
    this.retry = false;
    this.addressesSeen = this.addressKey();
    const entries = this.readEntries();
    const local = localNodeNames(this.nodes.items.values() as Iterable<Node>, this.options);
    const wanted = this.wantedListeners(entries, local);
    this.updateBalancers(entries, local, wanted);
    for (const [id, { listener, wanted: w }] of this.listeners) {
      const now = wanted.get(id);
      if (now && now.key === w.key && now.external === w.external) continue;
      listener.close();
      this.listeners.delete(id);
    }
    for (const [id, w] of wanted) if (!this.listeners.has(id)) await this.open(id, w);
    this.lastSync = Date.now();
    this.syncs++;
  }

  private readEntries(): ServicePortEntry[] {
    const slices = new Map<string, EndpointSlice[]>();
    for (const slice of (this.slices?.items.values() ?? []) as Iterable<EndpointSlice>) {
      const owner = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (!owner) continue;
      const key = serviceKey(slice.metadata?.namespace ?? '', owner);
      slices.set(key, [...(slices.get(key) ?? []), slice]);
    }
    const out: ServicePortEntry[] = [];
    for (const svc of this.services.items.values() as Iterable<Service>) {
      const key = serviceKey(svc.metadata?.namespace ?? '', svc.metadata?.name ?? '');
      const endpoints = this.endpoints.items.get(key) as Endpoints | undefined;
      out.push(...servicePorts(svc, { endpoints, slices: slices.get(key) }));
    }
    return out;
  }

  /**
   * An endpoint that is the proxy itself (an address of the service range, one of its own
   * listeners, 0.0.0.0) would make every connection dial the proxy again, without end: whoever may
   * write Endpoints could exhaust the host's sockets. Such endpoints are left out, logged once.
   */
  private withoutLoops(entry: ServicePortEntry, wanted: Map<string, Wanted>): Endpoint[] {
    const range = this.options.serviceRange;
    return entry.endpoints.filter((e) => {
      const loop =
        e.ip === '0.0.0.0' ||
        (range !== undefined && containsIp(range, e.ip)) ||
        wanted.has(listenerId({ protocol: entry.protocol, host: e.ip, port: e.port }));
      const id = `${entry.key} ${e.ip}:${e.port}`;
      if (loop && !this.refused.has(id)) {
        this.refused.add(id);
        this.options.logger.warn(
          { service: entry.key, endpoint: `${e.ip}:${e.port}` },
          'endpoint is the proxy itself: skipped',
        );
      }
      return !loop;
    });
  }

  private updateBalancers(entries: ServicePortEntry[], local: Set<string>, wanted: Map<string, Wanted>): void {
    const keep = new Set<string>();
    for (const original of entries) {
      const entry = { ...original, endpoints: this.withoutLoops(original, wanted) };
      keep.add(entry.key);
      let state = this.ports.get(entry.key);
      if (!state) {
        state = { entry, internal: new RoundRobin(), external: new RoundRobin() };
        this.ports.set(entry.key, state);
      }
      state.entry = entry;
      const onNode = entry.endpoints.filter((e) => e.nodeName !== undefined && local.has(e.nodeName));
      state.internal.update(entry.internalLocal ? onNode : entry.endpoints, entry.affinitySeconds);
      state.external.update(entry.externalLocal ? onNode : entry.endpoints, entry.affinitySeconds);
    }
    for (const key of this.ports.keys()) if (!keep.has(key)) this.ports.delete(key);
  }

  private wantedListeners(entries: ServicePortEntry[], local: Set<string>): Map<string, Wanted> {
    const wanted = new Map<string, Wanted>();
    const add = (w: Wanted) => {
      const id = listenerId(w);
      if (!wanted.has(id)) wanted.set(id, w);
    };
    const range = this.options.serviceRange;
    const nodeHosts = nodePortAddresses(this.nodes.items.values() as Iterable<Node>, local, this.options);
    for (const e of entries) {
      for (const ip of e.clusterIPs) {
        if (range && containsIp(range, ip))
          add({ protocol: e.protocol, host: ip, port: e.port, key: e.key, external: false });
      }
      if (!e.nodePort) continue;
      for (const host of nodeHosts) add({ protocol: e.protocol, host, port: e.nodePort, key: e.key, external: true });
    }
    return wanted;
  }

  private async open(id: string, w: Wanted): Promise<void> {
    const route = () => this.route(w);
    try {
      const listener =
        w.protocol === 'TCP'
          ? await listenTcp(w.host, w.port, route, this.options.logger)
          : await listenUdp(w.host, w.port, route, this.options.udpIdleMs);
      this.listeners.set(id, { listener, wanted: w });
      this.refused.delete(id);
    } catch (err) {
      // Logged once per address: the next sync tries again quietly (a port another program holds).
      if (!this.refused.has(id)) this.options.logger.warn({ err, service: w.key, address: id }, 'cannot listen');
      this.refused.add(id);
      this.retry = true;
    }
  }

  /** Looked up per connection, so a listener always uses its service port's newest endpoints. */
  private route(w: Wanted): Route | undefined {
    const state = this.ports.get(w.key);
    if (!state) return undefined;
    const rr = w.external ? state.external : state.internal;
    return { order: (clientIP) => rr.next(clientIP), answered: (clientIP, e) => rr.answered(clientIP, e) };
  }
}
