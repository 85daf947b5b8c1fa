/**
 * The cluster zone, after the Kubernetes DNS specification (v1.1.0) as CoreDNS's kubernetes
 * plugin answers it, from Services and Endpoints:
 * - `<svc>.<ns>.svc.<zone>` A: the ClusterIP; for a headless service, every ready endpoint address.
 * - `<hostname>.<svc>.<ns>.svc.<zone>` A: a headless service's endpoint that has a hostname.
 * - `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV: per named port, the service name (or, headless,
 *   each endpoint's name: its hostname, else its address with dashes) and the port.
 * - An ExternalName service: a CNAME to its externalName.
 * A name under the zone that matches nothing is NXDOMAIN, one that exists without records of the
 * type asked is an empty NOERROR (both with the zone's SOA, for negative caching).
 */

import type { Answer } from 'dns-packet';
import type { Endpoints, Service } from 'kubernetes-types/core/v1.js';

export interface Lookup {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
}

export interface ZoneSource {
  service(namespace: string, name: string): Service | undefined;
  endpoints(namespace: string, name: string): Endpoints | undefined;
  /** Whether the namespace has any service (for `<ns>.svc.<zone>`, which then exists). */
  hasNamespace(namespace: string): boolean;
}

interface Target {
  name: string;
  ip: string;
  port?: number;
}

const dashed = (ip: string) => ip.replaceAll('.', '-');

function readyTargets(endpoints: Endpoints | undefined, base: string, portName?: string, protocol?: string): Target[] {
  const out: Target[] = [];
  for (const subset of endpoints?.subsets ?? []) {
    const port =
      portName === undefined
        ? undefined
        : subset.ports?.find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === protocol);
    if (portName !== undefined && !port) continue;
    for (const a of subset.addresses ?? []) {
      out.push({ name: `${a.hostname ?? dashed(a.ip)}.${base}`, ip: a.ip, port: port?.port });
    }
  }
  return out;
}

export class ClusterZone {
  constructor(
    readonly domain: string,
    private readonly source: ZoneSource,
    private readonly ttl = 5,
  ) {}

  /** Whether the name is ours to answer (else it is forwarded). */
  owns(name: string): boolean {
    const n = name.toLowerCase().replace(/\.$/, '');
    return n === this.domain || n.endsWith(`.${this.domain}`);
  }

  soa(): Answer {
    return {
      type: 'SOA',
      name: this.domain,
      ttl: this.ttl,
      data: {
        mname: `ns.dns.${this.domain}`,
        rname: `hostmaster.${this.domain}`,
        serial: 1,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }

  lookup(qname: string, qtype: string): Lookup {
    const name = qname.toLowerCase().replace(/\.$/, '');
    const labels = name.slice(0, -(this.domain.length + 1)).split('.');
    if (name === this.domain) return { rcode: 'NOERROR', answers: qtype === 'SOA' ? [this.soa()] : [] };
    const svcAt = labels.lastIndexOf('svc');
    if (svcAt !== labels.length - 1) return { rcode: 'NXDOMAIN', answers: [] };
    const rest = labels.slice(0, svcAt);
    if (rest.length === 0) return { rcode: 'NOERROR', answers: [] };
    const namespace = rest.at(-1)!;
    if (rest.length === 1) return { rcode: this.source.hasNamespace(namespace) ? 'NOERROR' : 'NXDOMAIN', answers: [] };
    const service = this.source.service(namespace, rest.at(-2)!);
    if (!service) return { rcode: 'NXDOMAIN', answers: [] };
    const prefix = rest.slice(0, -2);
    if (prefix.length === 0) return this.serviceRecords(name, service, qtype);
    if (prefix.length === 1) return this.endpointRecord(name, service, prefix[0]!, qtype);
    if (prefix.length === 2 && prefix[0]!.startsWith('_') && prefix[1]!.startsWith('_')) {
      return this.srv(name, service, prefix[0]!.slice(1), prefix[1]!.slice(1).toUpperCase(), qtype);
    }
    return { rcode: 'NXDOMAIN', answers: [] };
  }

  private serviceRecords(name: string, service: Service, qtype: string): Lookup {
    const spec = service.spec ?? {};
    if (spec.type === 'ExternalName' && spec.externalName) {
      return { rcode: 'NOERROR', answers: [{ type: 'CNAME', name, ttl: this.ttl, data: spec.externalName }] };
    }
    if (qtype !== 'A' && qtype !== 'ANY') return { rcode: 'NOERROR', answers: [] };
    const ips = spec.clusterIP && spec.clusterIP !== 'None' ? [spec.clusterIP] : this.headlessIPs(service);
    return { rcode: 'NOERROR', answers: ips.map((ip) => ({ type: 'A', name, ttl: this.ttl, data: ip })) };
  }

  private headlessIPs(service: Service): string[] {
    const { namespace = '', name = '' } = service.metadata ?? {};
    return readyTargets(this.source.endpoints(namespace, name), '').map((t) => t.ip);
  }

  private endpointRecord(name: string, service: Service, host: string, qtype: string): Lookup {
    const { namespace = '', name: svc = '' } = service.metadata ?? {};
    const found = readyTargets(this.source.endpoints(namespace, svc), name.slice(host.length + 1)).filter(
      (t) => t.name === name,
    );
    if (!found.length) return { rcode: 'NXDOMAIN', answers: [] };
    if (qtype !== 'A' && qtype !== 'ANY') return { rcode: 'NOERROR', answers: [] };
    return { rcode: 'NOERROR', answers: found.map((t) => ({ type: 'A', name, ttl: this.ttl, data: t.ip })) };
  }

  private srv(name: string, service: Service, portName: string, protocol: string, qtype: string): Lookup {
    const port = service.spec?.ports?.find((p) => p.name === portName && (p.protocol ?? 'TCP') === protocol);
    if (!port) return { rcode: 'NXDOMAIN', answers: [] };
    if (qtype !== 'SRV' && qtype !== 'ANY') return { rcode: 'NOERROR', answers: [] };
    const base = name.split('.').slice(2).join('.');
    const { namespace = '', name: svc = '' } = service.metadata ?? {};
    const headless = service.spec?.clusterIP === 'None';
    const targets = headless
      ? readyTargets(this.source.endpoints(namespace, svc), base, portName, protocol)
      : [{ name: base, ip: service.spec?.clusterIP ?? '', port: port.port }];
    const answers: Answer[] = targets.map((t) => ({
      type: 'SRV',
      name,
      ttl: this.ttl,
      data: { priority: 0, weight: Math.floor(100 / targets.length), port: t.port ?? port.port, target: t.name },
    }));
    return { rcode: 'NOERROR', answers };
  }
}
