/**
 * Pods, Services and Nodes as objects for the endpoints, EndpointSlice and service controller
 * tests: pods do not run; a test gives them an IP and a Ready condition through the status
 * subresource, as a kubelet would.
 */
import type {
  EndpointAddress,
  EndpointPort,
  Event,
  Node,
  NodeCondition,
  Pod,
  Service,
} from 'kubernetes-types/core/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import { api } from '../../helpers/server.js';

const MERGE = { 'Content-Type': 'application/merge-patch+json' };

export interface PodOptions {
  labels?: Record<string, string>;
  /** Named container ports: name → number. */
  ports?: Record<string, number>;
  hostname?: string;
  subdomain?: string;
  nodeName?: string;
}

/** An object as the server answers it: its metadata always there, with a name and a uid. */
export type Stored<T> = T & { metadata: ObjectMeta & { name: string; uid: string } };

/** What the tests read of an Endpoints object: the subsets as the endpoints controller writes them. */
export interface StoredEndpoints {
  metadata: ObjectMeta;
  subsets: { addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports: EndpointPort[] }[];
}

function must<T>(what: string, r: { status: number; body: unknown }, ok: number[]): T {
  if (!ok.includes(r.status)) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as T;
}

export async function createPod(base: string, ns: string, name: string, options: PodOptions = {}) {
  const ports = Object.entries(options.ports ?? {}).map(([n, containerPort]) => ({ name: n, containerPort }));
  const spec: Record<string, unknown> = {
    containers: [{ name: 'app', image: 'busybox', ...(ports.length ? { ports } : {}) }],
  };
  if (options.hostname) spec.hostname = options.hostname;
  if (options.subdomain) spec.subdomain = options.subdomain;
  if (options.nodeName) spec.nodeName = options.nodeName;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: options.labels ?? {} }, spec };
  return must<Stored<Pod>>(`create pod ${name}`, await api(base, 'POST', `/api/v1/namespaces/${ns}/pods`, pod), [201]);
}

/** Gives the pod an IP, phase Running and a Ready condition. */
export async function setPodStatus(base: string, ns: string, name: string, ip: string, ready: boolean) {
  const status = {
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    hostIP: '127.0.0.1',
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString() }],
  };
  const r = await api(base, 'PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`, { status }, MERGE);
  return must<Stored<Pod>>(`status of ${name}`, r, [200]);
}

export async function patchLabels(base: string, ns: string, name: string, labels: Record<string, string | null>) {
  const r = await api(base, 'PATCH', `/api/v1/namespaces/${ns}/pods/${name}`, { metadata: { labels } }, MERGE);
  return must<Stored<Pod>>(`labels of ${name}`, r, [200]);
}

export async function createService(base: string, ns: string, service: Record<string, unknown>) {
  return must<Stored<Service & { spec: { ports: { nodePort: number }[] } }>>(
    'create service',
    await api(base, 'POST', `/api/v1/namespaces/${ns}/services`, service),
    [201],
  );
}

export async function getEndpoints(base: string, ns: string, name: string): Promise<StoredEndpoints | undefined> {
  const r = await api(base, 'GET', `/api/v1/namespaces/${ns}/endpoints/${name}`);
  return r.status === 200 ? r.body : undefined;
}

/** Ready and not-ready IPs of an Endpoints object, each sorted, with the ports of its subsets. */
export function addressesOf(ep: StoredEndpoints | undefined): { ready: string[]; notReady: string[]; ports: number[] } {
  const subsets = ep?.subsets ?? [];
  const ips = (key: 'addresses' | 'notReadyAddresses') =>
    subsets.flatMap((s) => (s[key] ?? []).map((a) => a.ip)).sort();
  const ports = [...new Set(subsets.flatMap((s) => (s.ports ?? []).map((p) => p.port)))].sort();
  return { ready: ips('addresses'), notReady: ips('notReadyAddresses'), ports };
}

export interface NodeOptions {
  ready?: boolean;
  internalIP?: string;
  labels?: Record<string, string>;
}

/** A Node object with a Ready condition (heartbeat now) and an InternalIP, as a kubelet registers it. */
export async function createReadyNode(base: string, name: string, options: NodeOptions = {}) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: options.labels ?? {} },
    status: {
      conditions: [
        {
          type: 'Ready',
          status: options.ready === false ? 'False' : 'True',
          reason: 'KubeletReady',
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
      addresses: options.internalIP ? [{ type: 'InternalIP', address: options.internalIP }] : [],
    },
  };
  return must<Stored<Node>>(`create node ${name}`, await api(base, 'POST', '/api/v1/nodes', node), [201]);
}

/** Sets the node's Ready condition (a new heartbeat), as its kubelet would. */
export async function setNodeReady(base: string, name: string, ready: boolean) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const node = must<Stored<Node>>(`get node ${name}`, await api(base, 'GET', `/api/v1/nodes/${name}`), [200]);
  const conditions = (node.status?.conditions ?? []).filter((c: NodeCondition) => c.type !== 'Ready');
  const old = (node.status?.conditions ?? []).find((c: NodeCondition) => c.type === 'Ready');
  const status = ready ? 'True' : 'False';
  conditions.push({
    type: 'Ready',
    status,
    reason: ready ? 'KubeletReady' : 'KubeletNotReady',
    lastHeartbeatTime: now,
    lastTransitionTime: old?.status === status ? old.lastTransitionTime : now,
  });
  const r = await api(base, 'PATCH', `/api/v1/nodes/${name}/status`, { status: { conditions } }, MERGE);
  return must<Stored<Node>>(`status of node ${name}`, r, [200]);
}

/** The Events about an object, newest last. */
export async function eventsFor(
  base: string,
  ns: string,
  name: string,
): Promise<{ reason: string; message: string; type: string }[]> {
  const selector = encodeURIComponent(`involvedObject.name=${name}`);
  const r = await api(base, 'GET', `/api/v1/namespaces/${ns}/events?fieldSelector=${selector}`);
  return (r.body.items ?? []).map((e: Event) => ({ reason: e.reason, message: e.message, type: e.type }));
}
