/**
 * Container health checks (seed 3.4.3): exec, tcpSocket, httpGet (named ports, headers,
 * redirects; 200–399 is success) and gRPC probes, each passing and failing; readiness sets the
 * Ready conditions, a failed liveness or startup probe restarts the container, and the startup
 * probe holds the others back until it succeeds. Every failed probe is an Unhealthy event.
 */
import { expect } from 'chai';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from 'skiff/sdk';
import { healthRequest, healthStatus } from '../../../plugins/node-kubelet/probes/grpc.js';
import {
  condition,
  eventsOf,
  getPod,
  isRoot,
  type KubeletHarness,
  PODS,
  reasons,
  rootReason,
  startHarness,
  waitFor,
} from './helpers.js';

const node = (script: string) => ['node', '-e', `process.on('SIGTERM',()=>process.exit(0));${script}`];

/** / redirects to /ok, which answers 200 only with the X-Probe header; /healthz answers 500. */
const WEB = node(`require('http').createServer((q,s)=>{
if(q.url==='/'){s.writeHead(302,{location:'/ok'});return s.end()}
if(q.url==='/ok'){s.statusCode=q.headers['x-probe']==='yes'&&q.headers['user-agent'].startsWith('kube-probe/1.32')?200:500;return s.end()}
s.statusCode=500;s.end('sick')}).listen(8080)`);

/** grpc.health.v1.Health/Check answering STATUS (1 SERVING, 2 NOT_SERVING). */
const GRPC =
  node(`const st=Number(process.env.STATUS);require('http2').createServer().on('stream',(s)=>{s.on('data',()=>{});
s.on('end',()=>{s.respond({':status':200,'content-type':'application/grpc'},{waitForTrailers:true});
s.on('wantTrailers',()=>s.sendTrailers({'grpc-status':'0'}));s.end(Buffer.from([0,0,0,0,2,8,st]))})}).listen(9000)`);

/** Listens on 8080 only after 2.5 s. */
const SLOW = node("setTimeout(()=>require('http').createServer((q,s)=>s.end('up')).listen(8080),2500)");
const SLEEP = node('setInterval(()=>{},1000)');

function probePod(
  name: string,
  command: string[],
  probes: Record<string, unknown>,
  env: Record<string, string> = {},
): KubeObject {
  return {
    metadata: { name },
    spec: {
      nodeName: 'n1',
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'main',
          image: 'node',
          command,
          ports: [{ name: 'http', containerPort: 8080 }],
          env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
          ...probes,
        },
      ],
    },
  } as KubeObject;
}

const quick = { periodSeconds: 1, failureThreshold: 2 };
const ready = (p: Pod) => condition(p, 'Ready') === 'True';

describe('node-kubelet: probes', function () {
  this.timeout(60_000);
  let h: KubeletHarness;

  before(async function () {
    if (!isRoot) {
      console.warn(`      skipped: ${rootReason}`);
      this.skip();
    }
    h = await startHarness();
    await h.kubelet('n1');
    const pods = [
      probePod('exec-ok', SLEEP, { readinessProbe: { exec: { command: ['true'] }, ...quick } }),
      probePod('exec-bad', SLEEP, {
        readinessProbe: { exec: { command: ['sh', '-c', 'echo nope; exit 1'] }, ...quick },
      }),
      probePod('http-ok', WEB, {
        readinessProbe: {
          httpGet: { path: '/', port: 'http', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] },
          ...quick,
        },
      }),
      probePod('http-live', WEB, { livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, ...quick } }),
      probePod('tcp-ok', WEB, { readinessProbe: { tcpSocket: { port: 8080 }, ...quick } }),
      probePod('tcp-bad', WEB, { readinessProbe: { tcpSocket: { port: 9999 }, ...quick } }),
      probePod('grpc-ok', GRPC, { readinessProbe: { grpc: { port: 9000 }, ...quick } }, { STATUS: '1' }),
      probePod('grpc-bad', GRPC, { readinessProbe: { grpc: { port: 9000 }, ...quick } }, { STATUS: '2' }),
      probePod('slow-start', SLOW, {
        startupProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1, failureThreshold: 10 },
        readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
      }),
      probePod('never-starts', SLEEP, { startupProbe: { exec: { command: ['false'] }, ...quick } }),
    ];
    await Promise.all(pods.map((p) => h.admin.create(PODS, 'default', p)));
  });

  after(async () => h?.close());

  /** Waits for the Unhealthy event with `message`, then checks the pod is Running but not Ready. */
  const unready = async (name: string, message: string) => {
    const expected = `Unhealthy: Readiness probe failed: ${message}`;
    await waitFor(
      `${name}: ${expected}`,
      () => eventsOf(h, name),
      (e) => reasons(e).includes(expected),
    );
    const pod = await getPod(h, name);
    expect(pod.status!.phase).to.equal('Running');
    expect(pod.status!.conditions!.find((c) => c.type === 'Ready')).to.include({
      status: 'False',
      reason: 'ContainersNotReady',
      message: 'containers with unready status: [main]',
    });
  };

  it('startup: holds readiness back (started false) until it succeeds', async () => {
    let heldBack = false;
    const later = await waitFor(
      'slow-start ready',
      () => getPod(h, 'slow-start'),
      (p) => {
        const s = p.status?.containerStatuses?.[0];
        if (s?.state?.running && !s.started && !s.ready && condition(p, 'Ready') === 'False') heldBack = true;
        return ready(p);
      },
    );
    expect(heldBack, 'running, not started, not ready while the startup probe fails').to.equal(true);
    expect(later.status!.containerStatuses![0]).to.include({ started: true, ready: true, restartCount: 0 });
  });

  it('exec: exit 0 makes the container ready', async () => {
    await waitFor('exec-ok ready', () => getPod(h, 'exec-ok'), ready);
  });

  it('exec: a non-zero exit keeps it unready, with the output in the Unhealthy event', async () => {
    await unready('exec-bad', 'nope\n');
  });

  it('httpGet: a named port, headers and the kube-probe User-Agent; a redirect on the same host is followed', async () => {
    await waitFor('http-ok ready', () => getPod(h, 'http-ok'), ready);
  });

  it('httpGet liveness: status 500 kills the container and restarts it', async () => {
    await waitFor(
      'http-live restarted',
      () => getPod(h, 'http-live'),
      (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
    );
    const events = reasons(await eventsOf(h, 'http-live'));
    expect(events).to.include('Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 500');
    expect(events).to.include('Killing: Container main failed liveness probe, will be restarted');
  });

  it('tcpSocket: an open port is ready', async () => {
    await waitFor('tcp-ok ready', () => getPod(h, 'tcp-ok'), ready);
  });

  it('tcpSocket: a refused connection is not', async () => {
    const pod = await waitFor(
      'tcp-bad has an IP',
      () => getPod(h, 'tcp-bad'),
      (p) => Boolean(p.status?.podIP),
    );
    await unready('tcp-bad', `dial tcp ${pod.status!.podIP}:9999: connect: connection refused`);
  });

  it('grpc: SERVING is ready', async () => {
    await waitFor('grpc-ok ready', () => getPod(h, 'grpc-ok'), ready);
  });

  it('grpc: NOT_SERVING is not', async () => {
    await unready('grpc-bad', 'service unhealthy (responded with "NOT_SERVING")');
  });

  it('startup: failing failureThreshold times restarts the container', async () => {
    await waitFor(
      'never-starts restarted',
      () => getPod(h, 'never-starts'),
      (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
    );
    expect(reasons(await eventsOf(h, 'never-starts'))).to.include(
      'Killing: Container main failed startup probe, will be restarted',
    );
  });
});

describe('node-kubelet: the gRPC health messages', () => {
  it('encodes HealthCheckRequest{service} in a gRPC frame and reads HealthCheckResponse.status', () => {
    expect([...healthRequest('')]).to.deep.equal([0, 0, 0, 0, 0]);
    expect([...healthRequest('db')]).to.deep.equal([0, 0, 0, 0, 4, 0x0a, 2, 0x64, 0x62]);
    expect(healthStatus(Buffer.from([0, 0, 0, 0, 2, 8, 1]))).to.equal(1);
    expect(healthStatus(Buffer.from([0, 0, 0, 0, 0]))).to.equal(0);
  });
});
