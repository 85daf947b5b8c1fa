/** Nodes, pods and waits for the scheduler's tests (against a real server, or a cache alone). */
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../../core/api/types.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

/** Test data written as the API would hold it: JSON of any shape. */
export type JsonValue = string | number | boolean | null | undefined | JsonValue[] | Json;
export interface Json {
  [key: string]: JsonValue;
}

export function node(
  name: string,
  o: {
    cpu?: string;
    memory?: string;
    pods?: string;
    labels?: Record<string, string>;
    taints?: Json[];
    unschedulable?: boolean;
    images?: Json[];
  } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: {
      capacity: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' },
      allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' },
      conditions: [{ type: 'Ready', status: 'True' }],
      ...(o.images ? { images: o.images } : {}),
    },
  } as KubeObject;
}

export function pod(
  name: string,
  o: { cpu?: string; memory?: string; labels?: Record<string, string>; spec?: Json; namespace?: string } = {},
): KubeObject {
  const requests: Json = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: o.namespace ?? 'default', labels: o.labels ?? {} },
    spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests } }], ...o.spec },
  } as KubeObject;
}

/** A server running the scheduler in-process (role up), with the roles that let it act. */
export async function schedulerServer(
  extra: Record<string, unknown> = {},
  schedulerConfig: Json = {},
): Promise<TestServer> {
  return startTestServer({
    role: 'up',
    plugins: {
      'authz-bootstrap-roles': {},
      'api-scheduling-v1': {},
      'admission-priority': {},
      'scheduler-default': { config: schedulerConfig },
      ...extra,
    },
  });
}

export async function createAll(ts: TestServer, objects: KubeObject[]): Promise<void> {
  for (const o of objects) {
    const path = o.kind === 'Node' ? '/api/v1/nodes' : `/api/v1/namespaces/${o.metadata.namespace}/pods`;
    const r = await api(ts.url, 'POST', path, o);
    if (r.status !== 201)
      throw new Error(`creating ${o.kind} ${o.metadata.name}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

export async function getPod(ts: TestServer, name: string, namespace = 'default'): Promise<Pod> {
  return (await api(ts.url, 'GET', `/api/v1/namespaces/${namespace}/pods/${name}`)).body;
}

/** Polls until `ok` holds for the pod (bounded); returns the pod. */
export async function waitForPod(
  ts: TestServer,
  name: string,
  ok: (p: Pod) => boolean,
  what: string,
  ms = 10_000,
  namespace = 'default',
): Promise<Pod> {
  const deadline = Date.now() + ms;
  for (;;) {
    const p = await getPod(ts, name, namespace);
    if (ok(p)) return p;
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; pod is ${JSON.stringify({ spec: { nodeName: p.spec?.nodeName }, status: p.status })}`,
      );
    await new Promise((r) => setTimeout(r, 30));
  }
}

export const bound = (ts: TestServer, name: string, namespace = 'default') =>
  waitForPod(ts, name, (p) => Boolean(p.spec?.nodeName), `pod ${name} to be bound`, 10_000, namespace);

export const unschedulable = (ts: TestServer, name: string) =>
  waitForPod(
    ts,
    name,
    (p) => Boolean(p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable')),
    `pod ${name} to be marked Unschedulable`,
  );

export async function eventsFor(ts: TestServer, name: string, namespace = 'default'): Promise<Event[]> {
  const r = await api(
    ts.url,
    'GET',
    `/api/v1/namespaces/${namespace}/events?fieldSelector=involvedObject.name=${name}`,
  );
  return r.body.items ?? [];
}
