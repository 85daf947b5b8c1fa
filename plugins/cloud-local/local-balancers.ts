/**
 * cloud-local's load balancers: for each Service of type LoadBalancer, an address from the pool
 * and a TCP listener on it for each service port, forwarding to that port's NodePort on every
 * node the service controller passes (the node's InternalIP, else its ExternalIP). The balancers
 * live in this process: they go when the service controller deletes them, or when it stops.
 */
import type { Logger } from 'pino';
import type { KubeObject } from 'skiff/sdk';
import { defaultLoadBalancerName, type LoadBalancer, type LoadBalancerStatus } from 'skiff/sdk/cloud';
import type { AddressPool } from './address-pool.js';
import { type Backend, TcpListener } from './tcp-balancer.js';

interface ServicePort {
  name?: string;
  protocol?: string;
  port: number;
  nodePort?: number;
}

interface Balancer {
  address: string;
  /** Service port → its listener and the NodePort it forwards to. */
  listeners: Map<number, { listener: TcpListener; nodePort: number }>;
}

type Obj = Record<string, unknown>;
const specOf = (svc: KubeObject) => (svc.spec ?? {}) as Obj;
const portsOf = (svc: KubeObject) => (Array.isArray(specOf(svc).ports) ? (specOf(svc).ports as ServicePort[]) : []);

/** The address a balancer reaches a node at: its InternalIP, else its ExternalIP. */
export function nodeAddress(node: KubeObject): string | undefined {
  const addresses = ((node.status as Obj | undefined)?.addresses ?? []) as { type?: string; address?: string }[];
  return (addresses.find((a) => a.type === 'InternalIP') ?? addresses.find((a) => a.type === 'ExternalIP'))?.address;
}

export class LocalBalancers implements LoadBalancer {
  private readonly balancers = new Map<string, Balancer>();

  constructor(
    private readonly pool: AddressPool,
    private readonly logger: Logger,
  ) {}

  getLoadBalancerName(_cluster: string, service: KubeObject): string {
    return defaultLoadBalancerName(service);
  }

  async getLoadBalancer(cluster: string, service: KubeObject) {
    const balancer = this.balancers.get(this.getLoadBalancerName(cluster, service));
    return balancer ? { exists: true, status: statusOf(balancer) } : { exists: false };
  }

  async ensureLoadBalancer(
    cluster: string,
    service: KubeObject,
    nodes: readonly KubeObject[],
  ): Promise<LoadBalancerStatus> {
    const ports = portsOf(service);
    for (const p of ports) {
      if ((p.protocol ?? 'TCP') !== 'TCP')
        throw new Error(`cloud-local balances TCP only; port ${p.port} is ${p.protocol}`);
      if (!p.nodePort)
        throw new Error(
          `port ${p.port} has no nodePort (allocateLoadBalancerNodePorts is false): nothing to forward to`,
        );
    }
    const name = this.getLoadBalancerName(cluster, service);
    let balancer = this.balancers.get(name);
    const requested = requestedAddress(service);
    if (balancer && requested && requested !== balancer.address) {
      // The Service asks for another address: the balancer moves there, once that address is sure.
      const address = this.takeRequested(requested);
      await this.ensureLoadBalancerDeleted(cluster, service);
      balancer = { address, listeners: new Map() };
      this.balancers.set(name, balancer);
    }
    if (!balancer) {
      const address = this.takeAddress(service);
      balancer = { address, listeners: new Map() };
      this.balancers.set(name, balancer);
      this.logger.info(
        { service: `${service.metadata.namespace}/${service.metadata.name}`, address },
        'load balancer created',
      );
    }
    await this.syncListeners(balancer, ports);
    this.setBackends(balancer, nodes);
    return statusOf(balancer);
  }

  async updateLoadBalancer(cluster: string, service: KubeObject, nodes: readonly KubeObject[]): Promise<void> {
    const balancer = this.balancers.get(this.getLoadBalancerName(cluster, service));
    if (!balancer) throw new Error(`load balancer ${this.getLoadBalancerName(cluster, service)} does not exist`);
    this.setBackends(balancer, nodes);
  }

  async ensureLoadBalancerDeleted(cluster: string, service: KubeObject): Promise<void> {
    const name = this.getLoadBalancerName(cluster, service);
    const balancer = this.balancers.get(name);
    if (!balancer) return;
    await Promise.all([...balancer.listeners.values()].map(({ listener }) => listener.close()));
    this.balancers.delete(name);
    this.pool.release(balancer.address);
    this.logger.info({ address: balancer.address }, 'load balancer deleted');
  }

  /**
   * spec.loadBalancerIP when the Service asks for one (deprecated, still honoured by clouds), and
   * refused as a cloud refuses an address it does not own; else the address its status shows
   * (after a restart) if still free, else the lowest free one.
   */
  private takeAddress(service: KubeObject): string {
    const requested = requestedAddress(service);
    if (requested) return this.takeRequested(requested);
    const shown = (service.status as { loadBalancer?: LoadBalancerStatus } | undefined)?.loadBalancer?.ingress?.[0]?.ip;
    const address = this.pool.take(shown);
    if (!address) throw new Error(`no address left in cloud-local's addressRange ${this.pool.cidr}`);
    return address;
  }

  private takeRequested(requested: string): string {
    if (this.pool.takeExactly(requested)) return requested;
    throw new Error(
      `spec.loadBalancerIP ${requested} is not a free address of cloud-local's addressRange ${this.pool.cidr}: ` +
        'leave it empty for any free address, or name a free one of that range',
    );
  }

  /** Stops every balancer (the process is stopping). */
  async closeAll(): Promise<void> {
    for (const balancer of this.balancers.values()) {
      await Promise.all([...balancer.listeners.values()].map(({ listener }) => listener.close()));
      this.pool.release(balancer.address);
    }
    this.balancers.clear();
  }

  /** One listener per service port: new ports listen, ports gone close, a changed NodePort is followed. */
  private async syncListeners(balancer: Balancer, ports: ServicePort[]): Promise<void> {
    const wanted = new Map(ports.map((p) => [p.port, p.nodePort!]));
    for (const [port, entry] of balancer.listeners) {
      if (wanted.has(port)) continue;
      await entry.listener.close();
      balancer.listeners.delete(port);
    }
    for (const [port, nodePort] of wanted) {
      const entry = balancer.listeners.get(port);
      if (entry) {
        entry.nodePort = nodePort;
        continue;
      }
      const listener = new TcpListener(balancer.address, port, this.logger);
      await listener.listen();
      balancer.listeners.set(port, { listener, nodePort });
    }
  }

  private setBackends(balancer: Balancer, nodes: readonly KubeObject[]): void {
    const hosts = nodes.flatMap((n) => nodeAddress(n) ?? []);
    for (const entry of balancer.listeners.values()) {
      entry.listener.backends = hosts.map((host): Backend => ({ host, port: entry.nodePort }));
    }
  }
}

/** spec.loadBalancerIP, deprecated but still honoured by clouds; undefined when empty. */
const requestedAddress = (svc: KubeObject): string | undefined => {
  const ip = specOf(svc).loadBalancerIP;
  return typeof ip === 'string' && ip ? ip : undefined;
};

const statusOf = (balancer: Balancer): LoadBalancerStatus => ({ ingress: [{ ip: balancer.address, ipMode: 'VIP' }] });
