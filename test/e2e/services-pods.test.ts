/**
 * The service data plane from inside real pods: `skiff up --nodes 1` (a real child process) with
 * the proxy on, pods in their own network namespaces, a service range of its own made local to
 * the host. A pod reaches a ClusterIP service whose endpoints are two other pods (both replicas
 * answer; env vars lead there), a service with no endpoint refuses at once, a NodePort answers on
 * the node's address, and the seed's "pods reach the API server through the kubernetes service":
 * @kubernetes/client-node's loadFromCluster() and python's load_incluster_config() list pods from
 * inside a pod, authorized as the pod's service account (by an ABAC line). After SIGTERM the
 * service route, namespaces and links are gone. Endpoints are written by hand (services without
 * selectors), so this does not depend on the endpoints controller.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml, stringify } from 'yaml';
import { sweepProcessRuntime } from '../../plugins/runtime-process/index.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';
import { waitFor } from '../helpers/wait.js';
import { freeClusterCidr, isRoot, leftovers, testPrefix } from '../plugins/runtime-process/helpers.js';

const PYTHON = '/usr/bin/python3';
const SERVER =
  "process.on('SIGTERM',()=>process.exit(0));require('http').createServer((q,s)=>s.end(require('os').hostname())).listen(8080)";

/** Asks the web service 6 times through its env vars, and the empty one once; prints JSON. */
const CLIENT = `(async () => {
  const url = 'http://' + process.env.WEB_SERVICE_HOST + ':' + process.env.WEB_SERVICE_PORT;
  const seen = [];
  for (let i = 0; i < 6; i++) seen.push(await (await fetch(url)).text());
  const started = Date.now();
  const refused = await new Promise((resolve) => {
    const s = require('net').connect(80, process.env.EMPTY_SERVICE_HOST);
    s.setTimeout(5000, () => resolve('TIMEOUT'));
    s.on('error', (e) => resolve(e.code));
    s.on('connect', () => s.on('close', () => resolve('CLOSED')));
  });
  const node = await (await fetch('http://' + process.env.NODE_IP + ':' + process.env.NODE_PORT)).text();
  console.log(JSON.stringify({ seen, refused, refusedMs: Date.now() - started, node }));
})()`;

const CLIENT_NODE_LIST = `const k8s = await import(process.env.CLIENT_NODE);
const kc = new k8s.KubeConfig();
kc.loadFromCluster();
const list = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' });
console.log('pods:' + list.items.map((p) => p.metadata.name).sort().join(','));`;

const PYTHON_LIST = `from kubernetes import client, config
config.load_incluster_config()
pods = client.CoreV1Api().list_namespaced_pod('default').items
print('pods:' + ','.join(sorted(p.metadata.name for p in pods)))`;

function freeServiceRange(): string {
  const table = execFileSync('ip', ['route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (let i = 0; i < 50; i++) {
    const second = 150 + Math.floor(Math.random() * 50);
    if (!table.includes(`10.${second}.`)) return `10.${second}.0.0/16`;
  }
  throw new Error('no free 10.1xx.0.0/16 range');
}

const localRoutes = (range: string) =>
  execFileSync('ip', ['route', 'show', 'table', 'local', range], { encoding: 'utf8' }).trim();

function pod(name: string, command: string[], extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name } },
    spec: {
      nodeName: 'svc-1',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: 'node', command, ...extra }],
      ...(extra.restartPolicy ? { restartPolicy: extra.restartPolicy } : {}),
    },
  };
}

describe('e2e: services from inside pods (skiff up --nodes 1 with the proxy)', function () {
  this.timeout(150_000);
  const processes: SkiffProcess[] = [];
  let dir: string;
  let kubeconfig: string;
  let range: string;
  let runtime: { prefix: string; clusterCIDR: string; loopbackCIDR: string } | undefined;

  const kubectl = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const env = { ...process.env, HOME: dir, KUBECONFIG: kubeconfig };
      const child = execFile(
        kubectlPath!,
        ['--request-timeout=20s', ...args],
        { env, timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };
  const create = (obj: unknown) => ok(['create', '-f', '-'], JSON.stringify(obj));
  const get = async (path: string) => JSON.parse(await ok(['get', '--raw', path]));
  /** The container's output once the pod has finished (Succeeded or Failed). */
  const finishedLog = async (name: string) => {
    const phase = await waitFor(
      `pod ${name} to finish`,
      async () => (await get(`/api/v1/namespaces/default/pods/${name}`)).status?.phase,
      (p) => p === 'Succeeded' || p === 'Failed',
      60_000,
    );
    const log = await ok(['logs', name]);
    expect(phase, `pod ${name}: ${log}`).to.equal('Succeeded');
    return log.trim();
  };

  before(async function () {
    if (!isRoot || !kubectlPath || !existsSync(PYTHON)) {
      console.warn('      skipped: needs root (pod network namespaces, the service route), kubectl and python3');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'skiff-services-e2e-'));
    const cidr = freeClusterCidr();
    range = freeServiceRange();
    runtime = { prefix: testPrefix(), clusterCIDR: cidr.cluster, loopbackCIDR: `127.${cidr.second}.0.0/16` };
    const policy = join(dir, 'abac.jsonl');
    writeFileSync(
      policy,
      `${JSON.stringify({
        apiVersion: 'abac.authorization.kubernetes.io/v1beta1',
        kind: 'Policy',
        spec: { user: 'system:serviceaccount:default:default', namespace: 'default', resource: 'pods', readonly: true },
      })}\n`,
    );
    const config = parseYaml(readFileSync('config/default.yaml', 'utf8'));
    config.server.dataDir = join(dir, 'data');
    config.server.securePort = 'auto';
    config.plugins['api-core-v1'] = { config: { serviceClusterIPRange: range } };
    config.plugins['runtime-process'] = { config: runtime };
    const kubeDns = range.replace('0.0/16', '0.10'); // dns-cluster's default: the tenth address
    config.plugins['node-kubelet'] = {
      config: { relistPeriod: 0.3, shutdownGracePeriod: 2, port: 'auto', clusterDNS: [kubeDns] },
    };
    config.plugins['authz-abac'] = { config: { policyFile: policy } };
    config.plugins['proxy-userspace'] = {};
    config.plugins['dns-cluster'] = {};
    writeFileSync(join(dir, 'config.yaml'), stringify(config));
    const up = spawnSkiff(['up', '--config', join(dir, 'config.yaml'), '--nodes', '1', '--hostname-override', 'svc']);
    processes.push(up);
    await up.waitForLine('ready', (l) => l.msg === 'ready', 60_000);
    kubeconfig = join(dir, 'data', 'kubeconfig');
  });

  after(async () => {
    for (const p of processes) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill('SIGTERM');
      await p.exited(20_000).catch(() => undefined);
    }
    killAll(processes);
    if (runtime) await sweepProcessRuntime(runtime, []);
    if (range && localRoutes(range)) spawnSync('ip', ['route', 'del', 'local', range, 'dev', 'lo', 'table', 'local']);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a pod reaches a ClusterIP whose endpoints are two pods (both answer), is refused at once by one with none, and reaches a NodePort', async () => {
    for (const name of ['web-1', 'web-2']) await create(pod(name, ['node', '-e', SERVER]));
    const ips: string[] = [];
    for (const name of ['web-1', 'web-2']) {
      await ok(['wait', '--for=condition=Ready', `pod/${name}`, '--timeout=40s']);
      ips.push((await get(`/api/v1/namespaces/default/pods/${name}`)).status.podIP);
    }
    const web = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' } };
    await create({ ...web, spec: { type: 'NodePort', ports: [{ port: 80, targetPort: 8080 }] } });
    await create({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web' },
      subsets: [{ addresses: ips.map((ip) => ({ ip, nodeName: 'svc-1' })), ports: [{ port: 8080 }] }],
    });
    await create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'empty' }, spec: { ports: [{ port: 80 }] } });
    const service = await get('/api/v1/namespaces/default/services/web');
    expect(service.spec.clusterIP.startsWith(range.split('.').slice(0, 2).join('.'))).to.equal(true);
    const node = await get('/api/v1/nodes/svc-1');
    const nodeIP = node.status.addresses.find((a: { type: string }) => a.type === 'InternalIP').address;
    const env = [
      { name: 'NODE_IP', value: nodeIP },
      { name: 'NODE_PORT', value: String(service.spec.ports[0].nodePort) },
    ];
    await create(pod('client', ['node', '-e', CLIENT], { env, restartPolicy: 'Never' }));
    const result = JSON.parse(await finishedLog('client'));
    expect([...new Set(result.seen)].sort()).to.deep.equal(['web-1', 'web-2']);
    expect(result.refused).to.equal('ECONNRESET');
    expect(result.node).to.be.oneOf(['web-1', 'web-2']);
  });

  it('a LoadBalancer service answers from the host at its cloud-local ingress address, through the NodePort', async () => {
    const ips = ['web-1', 'web-2'];
    await create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web-lb' },
      spec: { type: 'LoadBalancer', ports: [{ port: 8088, targetPort: 8080 }] },
    });
    const addresses = await Promise.all(
      ips.map(async (name) => (await get(`/api/v1/namespaces/default/pods/${name}`)).status.podIP),
    );
    await create({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'web-lb' },
      subsets: [{ addresses: addresses.map((ip) => ({ ip, nodeName: 'svc-1' })), ports: [{ port: 8080 }] }],
    });
    const ingress = await waitFor(
      'a load balancer address',
      async () => (await get('/api/v1/namespaces/default/services/web-lb')).status?.loadBalancer?.ingress?.[0]?.ip,
      (ip) => typeof ip === 'string',
      30_000,
    );
    expect(ingress.startsWith('127.'), 'cloud-local balancers listen on loopback').to.equal(true);
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(await (await fetch(`http://${ingress}:8088/`)).text());
    expect([...seen].sort()).to.deep.equal(['web-1', 'web-2']);
  });

  it('a pod resolves service names (its own and the kubernetes service) through the kube-dns ClusterIP; an unknown one is NXDOMAIN', async () => {
    const kubeDns = (await get('/api/v1/namespaces/kube-system/services/kube-dns')).spec.clusterIP;
    const web = (await get('/api/v1/namespaces/default/services/web')).spec.clusterIP;
    const script = `const { Resolver } = require('dns').promises;
const r = new Resolver(); r.setServers([process.env.DNS]);
(async () => {
  const a = await r.resolve4('web.default.svc.cluster.local');
  const api = await r.resolve4('kubernetes.default.svc.cluster.local');
  const missing = await r.resolve4('nope.default.svc.cluster.local').catch((e) => e.code);
  console.log(JSON.stringify({ a, api, missing }));
})()`;
    await create(
      pod('resolver', ['node', '-e', script], { env: [{ name: 'DNS', value: kubeDns }], restartPolicy: 'Never' }),
    );
    const result = JSON.parse(await finishedLog('resolver'));
    expect(result.a).to.deep.equal([web]);
    expect(result.api).to.deep.equal([range.replace('0.0/16', '0.1')]);
    expect(result.missing).to.equal('ENOTFOUND');
  });

  it("a pod's /etc/resolv.conf names the cluster DNS with upstream's search path and ndots:5: short names resolve", async () => {
    const web = (await get('/api/v1/namespaces/default/services/web')).spec.clusterIP;
    const script = `const dns = require('dns').promises;
(async () => {
  const conf = require('fs').readFileSync('/etc/resolv.conf', 'utf8');
  const short = (await dns.lookup('web', 4)).address;
  const qualified = (await dns.lookup('web.default', 4)).address;
  console.log(JSON.stringify({ conf, short, qualified }));
})()`;
    await create(pod('lookup', ['node', '-e', script], { restartPolicy: 'Never' }));
    const result = JSON.parse(await finishedLog('lookup'));
    const kubeDns = (await get('/api/v1/namespaces/kube-system/services/kube-dns')).spec.clusterIP;
    expect(result.conf).to.contain(`nameserver ${kubeDns}\n`);
    expect(result.conf).to.match(/^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local\b/m);
    expect(result.conf).to.contain('options ndots:5');
    expect([result.short, result.qualified]).to.deep.equal([web, web]);
    expect(readFileSync('/etc/resolv.conf', 'utf8'), "the host's own file is untouched").to.not.contain(kubeDns);
  });

  it("client-node's loadFromCluster() lists pods from inside a pod, through the kubernetes service, as the pod's service account", async () => {
    const env = [{ name: 'CLIENT_NODE', value: import.meta.resolve('@kubernetes/client-node') }];
    await create(
      pod('incluster-js', ['node', '--input-type=module', '-e', CLIENT_NODE_LIST], { env, restartPolicy: 'Never' }),
    );
    const log = await finishedLog('incluster-js');
    expect(log).to.match(/^pods:.*incluster-js/m);
    expect(log).to.contain('web-1,web-2');
  });

  it("python's load_incluster_config() lists pods from inside a pod", async function () {
    if (spawnSync(PYTHON, ['-c', 'import kubernetes']).status !== 0) {
      console.warn(`      skipped: ${PYTHON} has no kubernetes module (.ci/run installs python3-kubernetes)`);
      this.skip();
    }
    await create(pod('incluster-py', [PYTHON, '-c', PYTHON_LIST], { restartPolicy: 'Never' }));
    const log = await finishedLog('incluster-py');
    expect(log).to.match(/^pods:.*incluster-py/m);
  });

  it('the service account may only do what it was granted: deleting a pod from inside is forbidden', async () => {
    const script = `const k8s = await import(process.env.CLIENT_NODE);
const kc = new k8s.KubeConfig();
kc.loadFromCluster();
try { await kc.makeApiClient(k8s.CoreV1Api).deleteNamespacedPod({ name: 'web-1', namespace: 'default' }); console.log('deleted'); }
catch (e) { console.log('code:' + e.code); }`;
    const env = [{ name: 'CLIENT_NODE', value: import.meta.resolve('@kubernetes/client-node') }];
    await create(
      pod('incluster-delete', ['node', '--input-type=module', '-e', script], { env, restartPolicy: 'Never' }),
    );
    expect(await finishedLog('incluster-delete')).to.equal('code:403');
  });

  it('after SIGTERM the service route, the pods namespaces and links are gone', async () => {
    const up = processes[0]!;
    up.child.kill('SIGTERM');
    expect(await up.exited(30_000)).to.equal(0);
    expect(localRoutes(range)).to.equal('');
    expect(leftovers(runtime!.prefix, runtime!.clusterCIDR)).to.deep.equal([]);
  });
});
