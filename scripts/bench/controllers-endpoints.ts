/**
 * The endpoints row of `npm run bench -- controllers` (issue 21): 1,000 Services, each selecting
 * one pod that is Running and Ready, on `skiff up`'s role (durable SQLite, controller-endpoints
 * running in-process). Then, one at a time, a pod's readiness is flipped through the status
 * subresource, as its kubelet would, and the bench waits for its Service's Endpoints to show the
 * change on a watch. Measured: from the start of the status write to the Endpoints watch event,
 * p50 and p99 of SAMPLES changes. Baseline, in the same run: the status write alone.
 */
import type { EndpointSubset } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../core/api/types.js';
import type { ApiClient } from '../../core/client/types.js';
import { CORE_V1 } from '../../core/client/types.js';
import { percentile, startBenchServer } from './fixtures.js';
import { fmt, type Row } from './report.js';

const SERVICES = 1000;
const SAMPLES = 300;
const NS = 'endpoints-bench';
const BATCH = 50;

const ipOf = (i: number) => `10.${64 + Math.floor(i / 250)}.${i % 250}.1`;

/** Runs `work` for 0..count-1, BATCH at a time. */
async function inBatches(count: number, work: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < count; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => work(i + j)));
  }
}

const podStatus = (i: number, ready: boolean) => ({
  status: {
    phase: 'Running',
    podIP: ipOf(i),
    podIPs: [{ ip: ipOf(i) }],
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
  },
});

/** Ready and not-ready IPs of an Endpoints object, as one comparable string. */
function readiness(ep: KubeObject): string {
  const subsets = (ep.subsets ?? []) as EndpointSubset[];
  const ips = (key: 'addresses' | 'notReadyAddresses') => subsets.flatMap((s) => (s[key] ?? []).map((a) => a.ip));
  return `${ips('addresses').join()}|${ips('notReadyAddresses').join()}`;
}

async function createServicesAndPods(client: ApiClient): Promise<void> {
  await client.create(CORE_V1('namespaces'), '', { metadata: { name: NS } } as KubeObject);
  await inBatches(SERVICES, (i) =>
    client.create(CORE_V1('services'), NS, {
      metadata: { name: `svc-${i}` },
      spec: { selector: { app: `svc-${i}` }, ports: [{ port: 80, targetPort: 8080 }] },
    } as KubeObject),
  );
  await inBatches(SERVICES, async (i) => {
    await client.create(CORE_V1('pods'), NS, {
      metadata: { name: `pod-${i}`, labels: { app: `svc-${i}` } },
      spec: { nodeName: 'bench-node', containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    } as KubeObject);
    await client.patch(CORE_V1('pods'), NS, `pod-${i}`, 'merge', podStatus(i, true), { subresource: 'status' });
  });
}

/** Watches the namespace's Endpoints: resolves a waiter once its Service's Endpoints read as expected. */
function endpointsWatcher(client: ApiClient) {
  const latest = new Map<string, string>();
  const waiters = new Map<string, { want: string; resolve: () => void }>();
  const handle = client.watch(CORE_V1('endpoints'), NS, {}, (e) => {
    if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
    const name = e.object.metadata.name ?? '';
    const now = readiness(e.object);
    latest.set(name, now);
    const waiter = waiters.get(name);
    if (waiter && waiter.want === now) {
      waiters.delete(name);
      waiter.resolve();
    }
  });
  return {
    latest,
    until(name: string, want: string): Promise<void> {
      if (latest.get(name) === want) return Promise.resolve();
      return new Promise((resolve) => waiters.set(name, { want, resolve }));
    },
    stop: () => handle.stop(),
  };
}

async function untilAllReady(watcher: ReturnType<typeof endpointsWatcher>, limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs;
  const wanted = (i: number) => `${ipOf(i)}|`;
  for (;;) {
    let ready = 0;
    for (let i = 0; i < SERVICES; i++) if (watcher.latest.get(`svc-${i}`) === wanted(i)) ready++;
    if (ready === SERVICES) return;
    if (performance.now() > deadline)
      throw new Error(`only ${ready} of ${SERVICES} Endpoints ready after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function endpointsRows(): Promise<Row[]> {
  const s = await startBenchServer({ 'authz-bootstrap-roles': {}, 'controller-endpoints': {} }, 'up');
  try {
    const client = s.server.client();
    const watcher = endpointsWatcher(client);
    await createServicesAndPods(client);
    await untilAllReady(watcher, 120_000);
    const latencies: number[] = [];
    const writes: number[] = [];
    for (let k = 0; k < SAMPLES; k++) {
      const i = (k * 7) % SERVICES;
      // A ready pod becomes not ready, a not-ready one ready: every write is a real change.
      const ready = watcher.latest.get(`svc-${i}`) !== `${ipOf(i)}|`;
      const want = ready ? `${ipOf(i)}|` : `|${ipOf(i)}`;
      const started = performance.now();
      const seen = watcher.until(`svc-${i}`, want);
      await client.patch(CORE_V1('pods'), NS, `pod-${i}`, 'merge', podStatus(i, ready), { subresource: 'status' });
      writes.push(performance.now() - started);
      await seen;
      latencies.push(performance.now() - started);
    }
    watcher.stop();
    latencies.sort((a, b) => a - b);
    writes.sort((a, b) => a - b);
    const p99 = percentile(latencies, 99);
    const writeP99 = percentile(writes, 99);
    return [
      {
        scenario: `Endpoints after a readiness change, ${SERVICES.toLocaleString('en-US')} services (${SAMPLES} changes)`,
        skiff: `p50 ${fmt.ms(percentile(latencies, 50))}, p99 ${fmt.ms(p99)}`,
        baseline: `the pod status write alone: p50 ${fmt.ms(percentile(writes, 50))}, p99 ${fmt.ms(writeP99)}`,
        ratio: writeP99 / p99,
        target: 'p99 <= 100 ms',
        met: p99 <= 100,
      },
    ];
  } finally {
    await s.close();
  }
}
