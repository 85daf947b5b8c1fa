/**
 * The cluster half of the controllers in `skiff controller-manager`, a process of its own talking
 * HTTPS to `skiff apiserver` with the controller manager's certificate (upstream's bootstrap roles
 * are all it is allowed): `--controllers` with upstream's names, endpoints and EndpointSlices for a
 * Service, a pod CIDR for a new node, the pods of a deleted node collected, a silent node tainted,
 * and a LoadBalancer Service answered by cloud-local in the controller manager's process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { EndpointSubset, Service } from 'kubernetes-types/core/v1.js';
import { parse as parseYaml, stringify } from 'yaml';
import type { KubeObject } from '../../core/api/types.js';
import { CONTROLLER_MANAGER_IDENTITY } from '../../core/auth/pki.js';
import { fromKubeconfig, type HttpsClient } from '../../core/client/https-client.js';
import { CORE_V1 } from '../../core/client/types.js';
import { buildKubeconfig } from '../../plugins/pki-local/kubeconfig.js';
import { LocalPki } from '../../plugins/pki-local/local-pki.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';
import { waitFor } from '../helpers/wait.js';

const SERVICES = CORE_V1('services');
const PODS = CORE_V1('pods');
const NODES = CORE_V1('nodes');
const ENDPOINTS = CORE_V1('endpoints');
const SLICES = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' };
const octet = () => 1 + Math.floor(Math.random() * 250);
const BALANCER_RANGE = `127.97.${octet()}.0/24`;
const NODE_IP = `127.98.${octet()}.1`;

const readyStatus = () => ({
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'KubeletReady',
      lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    },
  ],
  addresses: [{ type: 'InternalIP', address: NODE_IP }],
});

describe('e2e: node, endpoints and service controllers in skiff controller-manager', function () {
  this.timeout(120_000);
  let dir: string;
  let admin: HttpsClient;
  let nodePortListener: Server | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const processes: SkiffProcess[] = [];

  /** The controller manager's config: default.yaml with short node timings and this run's balancer range. */
  function controllerConfig(): string {
    const config = parseYaml(readFileSync('config/default.yaml', 'utf8'));
    config.server.dataDir = dir;
    config.plugins['cloud-local'] = { config: { addressRange: BALANCER_RANGE } };
    config.plugins['controller-pod-gc'] = { config: { gcCheckPeriodSeconds: 0.2, quarantineSeconds: 0.5 } };
    const file = join(dir, 'controller-manager.yaml');
    writeFileSync(file, stringify(config));
    return file;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-cm-cluster-'));
    const apiserver = spawnSkiff(['apiserver', '--data-dir', dir, '--secure-port', 'auto']);
    processes.push(apiserver);
    const serving = await apiserver.waitForLine('HTTPS', (l) =>
      /serving HTTPS on https:\/\/127\.0\.0\.1:\d+/.test(String(l.msg)),
    );
    const port = Number(/:(\d+)$/.exec(String(serving.msg))![1]);
    await apiserver.waitForLine('ready', (l) => l.msg === 'ready');
    admin = fromKubeconfig(join(dir, 'kubeconfig'));
    const { caPem, ...pair } = new LocalPki(dir, { ownsCA: false }).clientCredentials(CONTROLLER_MANAGER_IDENTITY);
    const kubeconfig = join(dir, 'controller-manager.kubeconfig');
    const yaml = buildKubeconfig({
      server: `https://127.0.0.1:${port}`,
      caPem,
      user: 'system:kube-controller-manager',
      clientCertPem: pair.certPem,
      clientKeyPem: pair.keyPem,
    });
    writeFileSync(kubeconfig, yaml, { mode: 0o600 });
    const cm = spawnSkiff([
      'controller-manager',
      '--config',
      controllerConfig(),
      '--kubeconfig',
      kubeconfig,
      '--data-dir',
      dir,
      '--leader-elect=false',
      // Upstream's names, old (endpoint, podgc, service) and current (with -controller).
      '--controllers=endpoint,endpointslice-controller,endpointslice-mirroring-controller,node-lifecycle-controller,taint-eviction-controller,node-ipam-controller,podgc,service',
      '--node-monitor-period=200ms',
      '--node-monitor-grace-period=2s',
      '--node-startup-grace-period=2s',
      '--cluster-cidr=10.252.0.0/16',
      '--node-cidr-mask-size=26',
    ]);
    processes.push(cm);
    const started = await cm.waitForLine('controllers started', (l) => l.msg === 'controllers started');
    expect(started.controllers).to.have.members([
      'endpoint',
      'endpointslice',
      'endpointslicemirroring',
      'nodelifecycle',
      'taint-eviction-controller',
      'nodeipam',
      'podgc',
      'service',
    ]);
  });
  after(() => {
    clearInterval(heartbeat);
    nodePortListener?.close();
    admin?.close();
    killAll(processes);
    rmSync(dir, { recursive: true, force: true });
  });

  const createNode = (name: string) =>
    admin.create(NODES, '', { metadata: { name }, status: readyStatus() } as KubeObject);

  it('gives a new node a pod CIDR of --node-cidr-mask-size from --cluster-cidr', async () => {
    await createNode('cm-node-1');
    await createNode('cm-node-2');
    const node = await waitFor(
      'a podCIDR',
      () => admin.get(NODES, '', 'cm-node-1'),
      (n) => Boolean((n.spec as { podCIDR?: string } | undefined)?.podCIDR),
      20_000,
    );
    expect((node.spec as { podCIDR: string }).podCIDR).to.match(/^10\.252\.\d+\.\d+\/26$/);
  });

  it('writes the Endpoints and EndpointSlices of a Service with a selector', async () => {
    await admin.create(SERVICES, 'default', {
      metadata: { name: 'cm-web' },
      spec: { selector: { app: 'cm-web' }, ports: [{ port: 80, targetPort: 8080 }] },
    } as KubeObject);
    await admin.create(PODS, 'default', {
      metadata: { name: 'cm-web-1', labels: { app: 'cm-web' } },
      spec: { nodeName: 'cm-node-1', containers: [{ name: 'c', image: 'x' }] },
    } as KubeObject);
    await admin.patch(
      PODS,
      'default',
      'cm-web-1',
      'merge',
      { status: { phase: 'Running', podIP: '10.252.0.5', conditions: [{ type: 'Ready', status: 'True' }] } },
      { subresource: 'status' },
    );
    const ep = await waitFor(
      'endpoints',
      () => admin.get(ENDPOINTS, 'default', 'cm-web').catch(() => undefined),
      (e) => JSON.stringify(e?.subsets ?? []).includes('10.252.0.5'),
      20_000,
    );
    const [subset] = ep!.subsets as EndpointSubset[];
    expect(subset!.addresses?.[0]).to.include({ ip: '10.252.0.5', nodeName: 'cm-node-1' });
    expect(subset!.addresses?.[0]?.targetRef).to.include({ kind: 'Pod', name: 'cm-web-1' });
    expect(subset!.ports).to.deep.equal([{ port: 8080, protocol: 'TCP' }]);
    const slices = await waitFor(
      'a slice',
      async () => (await admin.list(SLICES, 'default', { labelSelector: 'kubernetes.io/service-name=cm-web' })).items,
      (l) => JSON.stringify(l).includes('10.252.0.5'),
      20_000,
    );
    expect(slices).to.have.length(1);
  });

  it('deletes the pods of a deleted node (pod GC)', async () => {
    await admin.delete(NODES, '', 'cm-node-2');
    await admin.create(PODS, 'default', {
      metadata: { name: 'cm-orphan' },
      spec: { nodeName: 'cm-node-2', containers: [{ name: 'c', image: 'x' }] },
    } as KubeObject);
    await waitFor(
      'the pod gone',
      () =>
        admin.get(PODS, 'default', 'cm-orphan').then(
          () => false,
          () => true,
        ),
      (gone) => gone,
      20_000,
    );
  });

  it('marks a node that stops posting status Unknown and taints it', async () => {
    // cm-node-1 never renews a Lease or posts status again.
    const node = await waitFor(
      'unreachable',
      () => admin.get(NODES, '', 'cm-node-1'),
      (n) =>
        JSON.stringify((n.spec as { taints?: unknown } | undefined)?.taints ?? []).includes(
          'node.kubernetes.io/unreachable',
        ),
      20_000,
    );
    const ready = (node.status as { conditions: { type: string; status: string }[] }).conditions.find(
      (c) => c.type === 'Ready',
    );
    expect(ready?.status).to.equal('Unknown');
  });

  it('gives a LoadBalancer Service an address of cloud-local that forwards to the NodePort', async () => {
    await createNode('cm-lb-node');
    // Its kubelet's heartbeat: the Lease renewed, so that it stays Ready (and in the balancer).
    const lease = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };
    const renew = () => ({
      spec: { holderIdentity: 'cm-lb-node', leaseDurationSeconds: 40, renewTime: new Date().toISOString() },
    });
    await admin.create(lease, 'kube-node-lease', { metadata: { name: 'cm-lb-node' }, ...renew() } as KubeObject);
    heartbeat = setInterval(() => {
      admin.patch(lease, 'kube-node-lease', 'cm-lb-node', 'merge', renew()).catch(() => undefined);
    }, 300);
    const svc = (await admin.create(SERVICES, 'default', {
      metadata: { name: 'cm-front' },
      spec: { type: 'LoadBalancer', selector: { app: 'cm-front' }, ports: [{ port: 9090 }] },
    } as KubeObject)) as unknown as Service;
    const nodePort = svc.spec!.ports![0]!.nodePort!;
    nodePortListener = createServer((s) => s.end('from cm-lb-node'));
    await new Promise<void>((resolve) => nodePortListener!.listen({ host: NODE_IP, port: nodePort }, resolve));
    const ready = (await waitFor(
      'an ingress IP',
      () => admin.get(SERVICES, 'default', 'cm-front'),
      (s) => Boolean((s as unknown as Service).status?.loadBalancer?.ingress?.length),
      20_000,
    )) as unknown as Service;
    const ip = ready.status!.loadBalancer!.ingress![0]!.ip!;
    expect(ip.startsWith(BALANCER_RANGE.slice(0, -'0/24'.length))).to.equal(true);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect({ host: ip, port: 9090 });
      let text = '';
      socket.on('data', (d) => {
        text += d.toString();
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      socket.on('close', () => resolve(text));
    });
    expect(answer).to.equal('from cm-lb-node');
  });
});
