/**
 * The cluster half of the controller manager with the real kubectl, against `skiff up`'s role:
 * endpoints and EndpointSlices track pods' readiness (kubectl get endpoints / endpointslices), a
 * LoadBalancer Service made with `kubectl create service loadbalancer` gets an EXTERNAL-IP from
 * cloud-local that answers TCP and forwards to a NodePort listener, and a node whose heartbeats stop
 * shows NotReady with the unreachable taints, then Ready again when they return. Pods and nodes do
 * not run: the test writes their status as a kubelet would, and renews the nodes' Leases.
 */
import { connect, createServer, type Server } from 'node:net';
import { expect } from 'chai';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { ensureLeaseNamespace, Heartbeat } from '../plugins/controllers/node-heartbeats.js';
import { createReadyNode, setNodeReady, setPodStatus } from '../plugins/controllers/service-fixtures.js';

const octet = () => 1 + Math.floor(Math.random() * 250);
// Ranges of this run's own: other tests on this machine may use the defaults at the same time.
const BALANCER_RANGE = `127.97.${octet()}.0/24`;
const NODE_NET = `127.98.${octet()}`;
const NODE_IP = `${NODE_NET}.1`;

/** Connects and reads until the other side closes (1 s at most): the text, or the error code. */
function ask(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let text = '';
    const timer = setTimeout(() => socket.destroy(), 1000);
    socket.on('data', (d) => {
      text += d.toString();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

describe('e2e: kubectl with endpoints, load balancers and node lifecycle', function () {
  this.timeout(120_000);
  let ts: TestServer;
  let heartbeat: Heartbeat | undefined;
  /** A second node that stays up: with every node silent, upstream's controller blames the control plane and taints none. */
  let otherHeartbeat: Heartbeat | undefined;
  let nodePortListener: Server | undefined;

  before(async function () {
    if (!kubectlPath) {
      console.warn('    SKIPPED: kubectl is not installed on this machine (.ci/run installs it)');
      this.skip();
    }
    ts = await startTestServer({
      role: 'up',
      plugins: {
        'api-discovery-v1': {},
        'authz-bootstrap-roles': {},
        'controller-endpoints': {},
        'controller-endpointslice': {},
        'controller-service': {},
        'cloud-local': { config: { addressRange: BALANCER_RANGE } },
        'controller-node-lifecycle': {
          config: { nodeMonitorPeriod: 0.2, nodeMonitorGracePeriod: 1.5, nodeStartupGracePeriod: 1.5 },
        },
      },
    });
    await ensureLeaseNamespace(ts.url);
    await createReadyNode(ts.url, 'worker-1', { internalIP: NODE_IP });
    heartbeat = new Heartbeat(ts.url, 'worker-1');
    await heartbeat.start();
    // Nothing listens on its NodePorts: the balancer finds it refusing and tries worker-1.
    await createReadyNode(ts.url, 'worker-2', { internalIP: `${NODE_NET}.2` });
    otherHeartbeat = new Heartbeat(ts.url, 'worker-2');
    await otherHeartbeat.start();
  });
  after(async () => {
    await heartbeat?.stop();
    await otherHeartbeat?.stop();
    nodePortListener?.close();
    await ts?.close();
  });

  async function ok(args: string[]): Promise<string> {
    const r = await kubectl(ts.url, args);
    expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  }

  it('kubectl get endpoints and endpointslices follow the pods’ readiness', async () => {
    await ok(['create', 'service', 'clusterip', 'web', '--tcp=80:8080']);
    for (const [name, ip] of [
      ['web-1', '10.7.0.1'],
      ['web-2', '10.7.0.2'],
    ] as const) {
      await ok(['run', name, '--image=nginx', '--labels=app=web']);
      await setPodStatus(ts.url, 'default', name, ip, true);
    }
    const both = await waitFor(
      'two ready endpoints',
      () => ok(['get', 'endpoints', 'web', '--no-headers']),
      (out) => out.includes('10.7.0.1:8080') && out.includes('10.7.0.2:8080'),
    );
    expect(both).to.match(/^web\s+10\.7\.0\.[12]:8080,10\.7\.0\.[12]:8080\s+/);
    const slices = await ok(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
    expect(slices).to.match(/NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE/);
    expect(slices).to.match(/web-[a-z0-9]{5}\s+IPv4\s+8080\s+10\.7\.0\.[12],10\.7\.0\.[12]\s+/);

    await setPodStatus(ts.url, 'default', 'web-2', '10.7.0.2', false);
    const one = await waitFor(
      'web-2 out of the ready addresses',
      () => ok(['get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[*].addresses[*].ip}']),
      (out) => out.trim() === '10.7.0.1',
    );
    expect(one.trim()).to.equal('10.7.0.1');
    const notReady = await ok(['get', 'endpoints', 'web', '-o', 'jsonpath={.subsets[*].notReadyAddresses[*].ip}']);
    expect(notReady.trim()).to.equal('10.7.0.2');
    await waitFor(
      'the slice shows web-2 not ready',
      () =>
        ok([
          'get',
          'endpointslices',
          '-l',
          'kubernetes.io/service-name=web',
          '-o',
          'jsonpath={.items[*].endpoints[?(@.addresses[0]=="10.7.0.2")].conditions.ready}',
        ]),
      (out) => out.trim() === 'false',
    );
  });

  it('kubectl create service loadbalancer: an EXTERNAL-IP that forwards to the node’s NodePort', async () => {
    await ok(['create', 'service', 'loadbalancer', 'front', '--tcp=8080:80']);
    const nodePort = Number(await ok(['get', 'svc', 'front', '-o', 'jsonpath={.spec.ports[0].nodePort}']));
    expect(nodePort).to.be.within(30000, 32767);
    nodePortListener = createServer((s) => s.end('from worker-1'));
    await new Promise<void>((resolve) => nodePortListener!.listen({ host: NODE_IP, port: nodePort }, resolve));
    const table = await waitFor(
      'an EXTERNAL-IP',
      () => ok(['get', 'svc', 'front', '--no-headers']),
      (out) => !out.includes('<pending>'),
    );
    const prefix = BALANCER_RANGE.slice(0, -'0/24'.length).replaceAll('.', '\\.');
    const match = new RegExp(`^front\\s+LoadBalancer\\s+\\S+\\s+(${prefix}\\d+)\\s+8080:${nodePort}/TCP\\s+`).exec(
      table,
    );
    expect(match, table).to.not.equal(null);
    const ip = match![1]!;
    expect(await ask(ip, 8080)).to.equal('from worker-1');

    expect(await ok(['delete', 'svc', 'front'])).to.contain('service "front" deleted');
    expect(await ask(ip, 8080)).to.equal('ECONNREFUSED');
  });

  it('a node whose heartbeats stop shows NotReady with the unreachable taints, and Ready when they return', async () => {
    await heartbeat!.stop();
    await waitFor(
      'NotReady',
      () => ok(['get', 'node', 'worker-1', '--no-headers']),
      (out) => /^worker-1\s+NotReady\s+/.test(out),
    );
    const taints = await waitFor(
      'the unreachable taints',
      () => ok(['get', 'node', 'worker-1', '-o', 'jsonpath={range .spec.taints[*]}{.key}:{.effect} {end}']),
      (out) => out.includes('unreachable:NoExecute'),
    );
    expect(taints.trim().split(' ').sort()).to.deep.equal([
      'node.kubernetes.io/unreachable:NoExecute',
      'node.kubernetes.io/unreachable:NoSchedule',
    ]);
    const reason = await ok([
      'get',
      'node',
      'worker-1',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].message}',
    ]);
    expect(reason).to.equal('Kubelet stopped posting node status.');

    await heartbeat!.start();
    await setNodeReady(ts.url, 'worker-1', true);
    await waitFor(
      'Ready without taints',
      () =>
        ok([
          'get',
          'node',
          'worker-1',
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints}',
        ]),
      (out) => out.trim() === 'True',
    );
    expect(await ok(['get', 'node', 'worker-1', '--no-headers'])).to.match(/^worker-1\s+Ready\s+/);
  });
});
