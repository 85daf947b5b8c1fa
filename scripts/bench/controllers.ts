/**
 * `npm run bench -- controllers`: the controller manager's figures (issue 21).
 *
 * Replication: a ReplicationController scaled from 0 to 1,000 on `skiff up`'s role (durable SQLite,
 * the replication controller and the garbage collector running in-process), the bench playing the
 * kubelet: every pod the controller creates is marked Running and Ready through the status
 * subresource as soon as its watch event arrives. Measured: from the scale write until the RC's
 * status.readyReplicas is 1,000. Baseline, in the same run and server: the same 1,000 pods created
 * by a plain client loop (one create after the other, nothing marked ready).
 *
 * Endpoints: see controllers-endpoints.ts.
 */
import type { KubeObject } from '../../core/api/types.js';
import type { ApiClient } from '../../core/client/types.js';
import { CORE_V1 } from '../../core/client/types.js';
import { endpointsRows } from './controllers-endpoints.js';
import { startBenchServer } from './fixtures.js';
import { fmt, type Row } from './report.js';

const REPLICAS = 1000;
const RCS = CORE_V1('replicationcontrollers');
const PODS = CORE_V1('pods');
const NAMESPACES = CORE_V1('namespaces');
/** How many status writes the bench's kubelet keeps in flight at once. */
const KUBELET_CONCURRENCY = 50;

const template = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
});

async function plainLoop(client: ApiClient, namespace: string): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < REPLICAS; i++) {
    await client.create(PODS, namespace, {
      metadata: { generateName: 'plain-', labels: { app: 'plain' } },
      spec: template('plain').spec,
    } as KubeObject);
  }
  return performance.now() - started;
}

/** The bench's kubelet: marks each new pod of the namespace Running and Ready, a bounded number at a time. */
function readyEveryPod(client: ApiClient, namespace: string) {
  const pending: string[] = [];
  let inFlight = 0;
  const status = { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };
  const pump = () => {
    while (inFlight < KUBELET_CONCURRENCY && pending.length) {
      const name = pending.shift()!;
      inFlight++;
      client
        .patch(PODS, namespace, name, 'merge', status, { subresource: 'status' })
        .catch(() => undefined)
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  };
  const handle = client.watch(PODS, namespace, {}, (e) => {
    if (e.type !== 'ADDED') return;
    pending.push(e.object.metadata.name ?? '');
    pump();
  });
  return handle;
}

async function untilReady(client: ApiClient, namespace: string, name: string, limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const rc = await client.get(RCS, namespace, name);
    if ((rc.status as { readyReplicas?: number } | undefined)?.readyReplicas === REPLICAS) return;
    if (performance.now() > deadline) throw new Error(`RC not ready after ${limitMs} ms: ${JSON.stringify(rc.status)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function replicationRows(): Promise<Row[]> {
  const s = await startBenchServer(
    { 'authz-bootstrap-roles': {}, 'controller-replication': {}, 'controller-garbage-collector': {} },
    'up',
  );
  try {
    const client = s.server.client();
    for (const name of ['warm', 'plain', 'rc'])
      await client.create(NAMESPACES, '', { metadata: { name } } as KubeObject);
    // A first loop warms the JIT up for both sides; it is not counted.
    await plainLoop(client, 'warm');
    const plainMs = await plainLoop(client, 'plain');
    const rc = {
      metadata: { name: 'web' },
      spec: { replicas: 0, selector: { app: 'web' }, template: template('web') },
    };
    await client.create(RCS, 'rc', rc as KubeObject);
    const kubelet = readyEveryPod(client, 'rc');
    const started = performance.now();
    await client.patch(RCS, 'rc', 'web', 'merge', { spec: { replicas: REPLICAS } }, { subresource: 'scale' });
    await untilReady(client, 'rc', 'web', 120_000);
    const rcMs = performance.now() - started;
    kubelet.stop();
    const ratio = plainMs / rcMs;
    return [
      {
        scenario: `RC 0 → ${REPLICAS.toLocaleString('en-US')} ready (pods marked Ready by the bench)`,
        skiff: `${fmt.ms(rcMs)} (${fmt.rps((REPLICAS * 1000) / rcMs)} pods)`,
        baseline: `${fmt.ms(plainMs)} (${REPLICAS.toLocaleString('en-US')} creates in a plain client loop)`,
        ratio,
        target: '>= 0.7 of the plain loop',
        met: ratio >= 0.7,
      },
    ];
  } finally {
    await s.close();
  }
}

export async function benchControllers(): Promise<Row[]> {
  return [...(await replicationRows()), ...(await endpointsRows())];
}
