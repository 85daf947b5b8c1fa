/**
 * The kubelet's server (issue 19 items 6–7) against a kubelet running real pods: its port in the
 * Node's daemonEndpoints, a self-signed serving certificate, /healthz, /pods, /runningpods/,
 * /spec/, /stats/, /stats/summary with plausible figures (a busy container burns CPU, memory is
 * used, traffic to a pod shows as received bytes, an emptyDir's bytes are counted),
 * /metrics/resource in the Prometheus text format, /metrics, /logs/ and /run.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { Kubelet } from '../../../plugins/node-kubelet/kubelet.js';
import { HTTP_SERVER, httpText, isRoot, PODS, podSpec, rootReason, waitFor } from './helpers.js';
import { kubeletRequest, type ServerHarness, startServerHarness } from './server-helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read field by field
type Json = any;

const BUSY = ['node', '-e', "process.on('SIGTERM',()=>process.exit(0));for(;;){}"];
const WRITER = [
  'sh',
  '-c',
  'dd if=/dev/zero of=/cache/blob bs=1024 count=300 2>/dev/null; trap "exit 0" TERM; while true; do sleep 1; done',
];

describe('node-kubelet server: endpoints', function () {
  this.timeout(90_000);
  let h: ServerHarness;
  let kubelet: Kubelet;
  let port: number;
  let podIP: string;

  before(async function () {
    if (!isRoot) {
      console.warn(`      skipped: ${rootReason}`);
      this.skip();
    }
    h = await startServerHarness();
    kubelet = await h.serving('srv', { housekeepingInterval: 1 });
    port = await h.portOf('srv');
    await h.admin.create(PODS, 'default', podSpec('busy', 'srv', BUSY));
    await h.admin.create(PODS, 'default', podSpec('web', 'srv', HTTP_SERVER));
    await h.admin.create(
      PODS,
      'default',
      podSpec('cache', 'srv', WRITER, {
        containers: [
          { name: 'main', image: 'busybox', command: WRITER, volumeMounts: [{ name: 'cache', mountPath: '/cache' }] },
        ],
        volumes: [{ name: 'cache', emptyDir: {} }],
      }),
    );
    const web = await waitFor(
      'pod web to have an IP',
      () => h.admin.get(PODS, 'default', 'web'),
      (p: Json) => !!p.status?.podIP && p.status?.phase === 'Running',
    );
    podIP = (web.status as Json).podIP;
  });

  after(async () => {
    await h?.close();
  });

  const admin = () => h.apiserverClient;

  it('serves HTTPS on the port the Node reports, with a self-signed certificate naming the node and 127.0.0.1', async () => {
    expect(port).to.be.greaterThan(0);
    const pem = readFileSync(join(kubelet.rootDir, 'pki', 'kubelet.crt'), 'utf8');
    const cert = new X509Certificate(pem);
    expect(cert.subject).to.match(/CN=srv@\d+/);
    expect(cert.issuer).to.match(/CN=srv-ca@\d+/);
    expect(cert.subjectAltName).to.include('DNS:srv').and.include('IP Address:127.0.0.1');
    const res = await kubeletRequest(port, '/healthz', admin());
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('ok');
  });

  it('/healthz?verbose lists ping, log and syncloop; /healthz/syncloop answers alone', async () => {
    const verbose = await kubeletRequest(port, '/healthz?verbose', admin());
    expect(verbose.body).to.equal('[+]ping ok\n[+]log ok\n[+]syncloop ok\nhealthz check passed\n');
    expect((await kubeletRequest(port, '/healthz/syncloop', admin())).body).to.equal('ok');
    expect((await kubeletRequest(port, '/healthz/nope', admin())).status).to.equal(404);
  });

  it('/pods lists the pods this node runs as a v1 PodList; /runningpods/ what the runtime holds', async () => {
    const pods = JSON.parse((await kubeletRequest(port, '/pods', admin())).body);
    expect(pods).to.include({ kind: 'PodList', apiVersion: 'v1' });
    expect(pods.items.map((p: Json) => p.metadata.name)).to.include.members(['busy', 'web', 'cache']);
    const running = await waitFor(
      'the runtime to hold three pods',
      async () => JSON.parse((await kubeletRequest(port, '/runningpods/', admin())).body),
      (l: Json) => l.items.length === 3 && l.items.every((p: Json) => p.spec.containers.length === 1),
    );
    const web = running.items.find((p: Json) => p.metadata.name === 'web');
    expect(web.metadata.namespace).to.equal('default');
    expect(web.spec.containers[0]).to.deep.equal({ name: 'main', image: 'node' });
  });

  it('/spec/ describes the machine as cAdvisor does', async () => {
    const spec = JSON.parse((await kubeletRequest(port, '/spec/', admin())).body);
    expect(spec.num_cores).to.be.greaterThan(0);
    expect(spec.memory_capacity).to.be.greaterThan(0);
    expect(spec.machine_id).to.be.a('string').and.not.equal('');
    expect(spec.filesystems[0].capacity).to.be.greaterThan(0);
  });

  it('/stats/summary: node and pod figures non-zero and plausible; a busy loop burns CPU; traffic is received', async () => {
    await httpText(`http://${podIP}:8080/`);
    for (let i = 0; i < 20; i++) await fetch(`http://${podIP}:8080/`).then((r) => r.text());
    const summary = await waitFor(
      'two samples with the busy pod using CPU and the web pod having received bytes',
      async () => JSON.parse((await kubeletRequest(port, '/stats/summary', admin())).body),
      (s: Json) => {
        const busy = s.pods.find((p: Json) => p.podRef.name === 'busy');
        const web = s.pods.find((p: Json) => p.podRef.name === 'web');
        // A busy loop's share of a shared, loaded machine: well above an idle process's ~0.
        return busy?.cpu.usageNanoCores > 20_000_000 && web?.network?.rxBytes > 2000;
      },
      30_000,
    );
    const { node } = summary;
    expect(node.nodeName).to.equal('srv');
    expect(node.cpu.usageCoreNanoSeconds).to.be.greaterThan(0);
    expect(node.cpu.usageNanoCores).to.be.greaterThan(0);
    expect(node.memory.workingSetBytes)
      .to.be.greaterThan(0)
      .and.lessThan(node.memory.usageBytes + 1);
    expect(node.memory.availableBytes).to.be.greaterThan(0);
    expect(node.memory.pageFaults).to.be.greaterThan(0);
    expect(node.fs.capacityBytes).to.be.greaterThan(node.fs.availableBytes);
    expect(node.fs.usedBytes).to.be.greaterThan(0);
    expect(node.runtime.imageFs.capacityBytes).to.be.greaterThan(0);
    expect(node.rlimit.maxpid).to.be.greaterThan(node.rlimit.curproc);
    expect(node.network.interfaces.length).to.be.greaterThan(0);
    expect(node.systemContainers.map((c: Json) => c.name)).to.deep.equal(['kubelet', 'pods']);
    const busy = summary.pods.find((p: Json) => p.podRef.name === 'busy');
    expect(busy.podRef.uid).to.be.a('string').and.not.equal('');
    expect(busy.containers[0].name).to.equal('main');
    expect(busy.containers[0].cpu.usageNanoCores).to.be.greaterThan(20_000_000);
    // One core at most, with room for sampling jitter.
    expect(busy.containers[0].cpu.usageNanoCores).to.be.lessThan(1_300_000_000);
    expect(busy.containers[0].memory.workingSetBytes).to.be.greaterThan(1_000_000);
    expect(busy.containers[0].logs.usedBytes).to.be.at.least(0);
    expect(busy.process_stats.process_count).to.be.at.least(1);
    expect(busy.memory.workingSetBytes).to.be.at.least(busy.containers[0].memory.workingSetBytes);
  });

  it("/stats/summary counts an emptyDir's bytes in its volume and the pod's ephemeral-storage", async () => {
    const cache = await waitFor(
      'the cache pod to have written 300 KiB',
      async () =>
        JSON.parse((await kubeletRequest(port, '/stats/summary', admin())).body).pods.find(
          (p: Json) => p.podRef.name === 'cache',
        ),
      (p: Json) => p?.volume?.find((v: Json) => v.name === 'cache')?.usedBytes >= 300 * 1024,
    );
    expect(cache['ephemeral-storage'].usedBytes).to.be.at.least(300 * 1024);
    const only = JSON.parse((await kubeletRequest(port, '/stats/summary?only_cpu_and_memory=true', admin())).body);
    expect(Object.keys(only.node).sort()).to.deep.equal(['cpu', 'memory', 'nodeName', 'startTime', 'systemContainers']);
    expect(only.pods[0]).to.not.have.property('volume');
  });

  it("/stats/ is the machine as cAdvisor's root container, with recent samples", async () => {
    const root = JSON.parse((await kubeletRequest(port, '/stats/', admin())).body);
    expect(root.name).to.equal('/');
    expect(root.stats.length).to.be.greaterThan(0);
    expect(root.stats.at(-1).cpu.usage.total).to.be.greaterThan(0);
  });

  it("/metrics/resource parses as Prometheus text with upstream's metric names and labels", async () => {
    const res = await kubeletRequest(port, '/metrics/resource', admin());
    expect(res.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(res.body) as Json[];
    const byName = Object.fromEntries(families.map((f: Json) => [f.name, f]));
    expect(Object.keys(byName)).to.include.members([
      'container_cpu_usage_seconds_total',
      'container_memory_working_set_bytes',
      'container_start_time_seconds',
      'node_cpu_usage_seconds_total',
      'node_memory_working_set_bytes',
      'pod_cpu_usage_seconds_total',
      'pod_memory_working_set_bytes',
      'resource_scrape_error',
      'scrape_error',
    ]);
    expect(byName.container_cpu_usage_seconds_total.type).to.equal('COUNTER');
    const busy = byName.container_cpu_usage_seconds_total.metrics.find((m: Json) => m.labels.pod === 'busy');
    expect(busy.labels).to.deep.equal({ container: 'main', namespace: 'default', pod: 'busy' });
    expect(Number(busy.value)).to.be.greaterThan(0);
    expect(Number(byName.node_memory_working_set_bytes.metrics[0].value)).to.be.greaterThan(0);
    expect(byName.resource_scrape_error.metrics[0].value).to.equal('0');
  });

  it("/metrics is the kubelet's own registry: running pods and containers, pod start durations, requests", async () => {
    const text = (await kubeletRequest(port, '/metrics', admin())).body;
    const byName = Object.fromEntries((parsePrometheusTextFormat(text) as Json[]).map((f: Json) => [f.name, f]));
    expect(byName.kubelet_running_pods.metrics[0].value).to.equal('3');
    const running = byName.kubelet_running_containers.metrics.find((m: Json) => m.labels.container_state === 'running');
    expect(running.value).to.equal('3');
    expect(byName.kubelet_node_name.metrics[0].labels).to.deep.equal({ node: 'srv' });
    expect(Number(byName.kubelet_pod_start_duration_seconds.metrics[0].count)).to.equal(3);
    expect(byName.kubelet_http_requests_total.metrics.some((m: Json) => m.labels.path === 'stats')).to.equal(true);
  });

  it("/logs/ lists the kubelet's own log directory (the pods' logs), never leaving it", async () => {
    const listing = await kubeletRequest(port, '/logs/', admin());
    expect(listing.status).to.equal(200);
    expect(listing.body).to.include('<a href="pods/">pods/</a>');
    const pods = await kubeletRequest(port, '/logs/pods/', admin());
    expect(pods.body).to.match(/default_web_[0-9a-f-]+\//);
    // Dot segments are resolved before authorization and routing see the path: this is /etc/passwd.
    expect((await kubeletRequest(port, '/logs/../../etc/passwd', admin())).status).to.equal(404);
    expect((await kubeletRequest(port, '/logs/nothing-here', admin())).status).to.equal(404);
    // A symlink planted in the directory that points out of it is not followed.
    symlinkSync('/etc', join(kubelet.rootDir, 'logs', 'escape'));
    expect((await kubeletRequest(port, '/logs/escape/passwd', admin())).status).to.equal(404);
    expect((await kubeletRequest(port, '/logs/escape/', admin())).status).to.equal(404);
  });

  it('/run runs a command in the container and answers its output; a failing command is 500', async () => {
    const ok = await kubeletRequest(port, '/run/default/web/main?cmd=echo%20hello', admin(), { method: 'POST' });
    expect(ok.status).to.equal(200);
    expect(ok.body).to.equal('hello\n');
    const failed = await kubeletRequest(port, '/run/default/web/main?cmd=false', admin(), { method: 'POST' });
    expect(failed.status).to.equal(500);
    expect(
      (await kubeletRequest(port, '/run/default/nope/main?cmd=true', admin(), { method: 'POST' })).status,
    ).to.equal(404);
  });
});
