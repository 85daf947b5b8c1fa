/**
 * `skiff scheduler simulate`: the real framework over a file of Nodes and Pods, nothing written:
 * where each pending pod goes (in queue order, each placed before the next), and for every node
 * the plugin that filtered it out and why, or each plugin's score and weight.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { pino } from 'pino';
import { SchedulerComponent } from '../../../plugins/scheduler-default/component/component.js';
import { loadSchedulerConfiguration } from '../../../plugins/scheduler-default/config/configuration.js';
import { objectsOf, simulate } from '../../../plugins/scheduler-default/simulate.js';
import { renderText } from '../../../plugins/scheduler-default/simulate-report.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const CLUSTER = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata: {name: small}
  status: {allocatable: {cpu: "1", memory: 2Gi, pods: "10"}}
- apiVersion: v1
  kind: Node
  metadata: {name: gpu}
  spec: {taints: [{key: dedicated, value: gpu, effect: NoSchedule}]}
  status: {allocatable: {cpu: "8", memory: 16Gi, pods: "10"}}
- apiVersion: v1
  kind: Node
  metadata: {name: large}
  status: {allocatable: {cpu: "4", memory: 8Gi, pods: "10"}}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: v1
kind: Pod
metadata: {name: batch}
spec: {containers: [{name: c, image: busybox, resources: {requests: {cpu: "3"}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  priorityClassName: high
  containers: [{name: c, image: nginx, resources: {requests: {cpu: "2"}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: running}
spec: {nodeName: small, containers: [{name: c, image: nginx, resources: {requests: {cpu: 500m}}}]}
`;

const component = () =>
  new SchedulerComponent({
    logger: pino({ level: 'silent' }),
    config: loadSchedulerConfiguration(),
    external: () => undefined,
  });

describe('skiff scheduler simulate', function () {
  this.timeout(60_000);

  it('places pending pods in queue order (priority first), each seeing the ones before it', () => {
    const verdicts = simulate(component(), objectsOf(CLUSTER, 'cluster.yaml'));
    expect(verdicts.map((v) => [v.pod, v.node ?? v.message])).to.deep.equal([
      ['default/web', 'large'],
      [
        'default/batch',
        '0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu.',
      ],
    ]);
  });

  it('explains every node: the filtering plugin and its reason, or each plugin score × weight', () => {
    const [web] = simulate(component(), objectsOf(CLUSTER, 'cluster.yaml'));
    expect(Object.fromEntries(web!.explain.filtered)).to.deep.equal({
      small: { plugin: 'NodeResourcesFit', reasons: ['Insufficient cpu'] },
      gpu: { plugin: 'TaintToleration', reasons: ['node(s) had untolerated taint {dedicated: gpu}'] },
    });
    const text = renderText([web!]);
    expect(text).to.include('pod default/web (default-scheduler): → large');
    expect(text).to.match(/→ large\s+score \d+ = TaintToleration 100×3 \(raw 0\) \+ NodeResourcesFit \d+×1/);
    expect(text).to.include('✗ gpu    filtered by TaintToleration: node(s) had untolerated taint {dedicated: gpu}');
  });

  it('runs as `skiff scheduler simulate FILE`, in text and JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-simulate-'));
    try {
      const file = join(dir, 'cluster.yaml');
      writeFileSync(file, CLUSTER);
      const bin = new URL('../../../scripts/skiff.mjs', import.meta.url).pathname;
      const text = spawnSync(process.execPath, [bin, 'scheduler', 'simulate', file], { encoding: 'utf8' });
      expect(text.status, text.stderr).to.equal(0);
      expect(text.stdout).to.include('pod default/web (default-scheduler): → large');
      const json = spawnSync(process.execPath, [bin, 'scheduler', 'simulate', file, '-o', 'json'], {
        encoding: 'utf8',
      });
      const parsed = JSON.parse(json.stdout);
      expect(parsed[0]).to.include({ pod: 'default/web', node: 'large' });
      expect(parsed[0].scores.large.plugins.TaintToleration).to.deep.equal({ raw: 0, normalized: 100, weight: 3 });
      const missing = spawnSync(process.execPath, [bin, 'scheduler', 'simulate'], { encoding: 'utf8' });
      expect(missing.status).to.equal(2);
      expect(missing.stderr).to.include('SKIFF_SIMULATE_INPUT');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('--kubeconfig: a live cluster', () => {
    let ts: TestServer;
    before(async () => {
      ts = await startTestServer({ secure: true, plugins: { 'authn-x509': {} } });
    });
    after(() => ts?.close());

    it("reads the cluster's Nodes and Pods, writes nothing, and says so when it cannot list them", async () => {
      const objects = objectsOf(CLUSTER, 'cluster.yaml').filter((o) => o.kind !== 'PriorityClass');
      for (const o of objects) {
        const path = o.kind === 'Node' ? '/api/v1/nodes' : '/api/v1/namespaces/default/pods';
        const r = await api(ts.url, 'POST', path, o);
        expect(r.status, JSON.stringify(r.body)).to.equal(201);
      }
      const bin = new URL('../../../scripts/skiff.mjs', import.meta.url).pathname;
      const run = (...args: string[]) =>
        promisify(execFile)(process.execPath, [bin, 'scheduler', 'simulate', ...args], { encoding: 'utf8' });
      const { stdout } = await run('--kubeconfig', ts.kubeconfig!);
      // Without the PriorityClass, web and batch keep their creation order: batch takes large first.
      expect(stdout).to.include('pod default/batch (default-scheduler): → large');
      expect(stdout).to.include('pod default/web (default-scheduler): unschedulable: 0/3 nodes are available');
      const pods = await api(ts.url, 'GET', '/api/v1/namespaces/default/pods');
      expect(pods.body.items.filter((p: { spec: { nodeName?: string } }) => p.spec.nodeName).length).to.equal(1);

      const broken = join(mkdtempSync(join(tmpdir(), 'skiff-simulate-')), 'kubeconfig');
      // A user the server does not know: the lists are refused with 401.
      writeFileSync(
        broken,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'c', cluster: { server: ts.secureUrl, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'u', user: { token: 'not-a-token' } }],
          contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'x',
        }),
      );
      const refused = await run('--kubeconfig', broken).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      rmSync(join(broken, '..'), { recursive: true, force: true });
      expect(refused?.code).to.equal(2);
      expect(refused?.stderr).to.match(/SKIFF_SIMULATE_INPUT.*cannot list nodes/);
    });
  });
});
