/**
 * What kubectl users see of the scheduler (the in-process one of `skiff up`): pods created with
 * `kubectl create -f` get a node (NODE column), `kubectl get events` lists Scheduled from
 * default-scheduler, `kubectl describe pod` shows the FailedScheduling message, PriorityClasses
 * list with upstream's columns, and a pod naming a missing class is refused. And the "done
 * when": on `skiff up --nodes 3` (kubelets with the simulated runtime), pods created with kubectl
 * are bound, spread over the three nodes, and run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';
import { NO_KUBECTL, skipBecause } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';

const MANIFEST = `apiVersion: v1
kind: Node
metadata:
  name: worker-1
status:
  capacity: {cpu: "2", memory: 4Gi, pods: "10"}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: nginx
    image: nginx
    resources:
      requests: {cpu: 500m}
---
apiVersion: v1
kind: Pod
metadata:
  name: huge
spec:
  containers:
  - name: nginx
    image: nginx
    resources:
      requests: {cpu: "16"}
`;

describe('e2e: kubectl and the scheduler', function () {
  this.timeout(90_000);
  let ts: TestServer;

  before(async function () {
    if (!kubectlPath) skipBecause(this, NO_KUBECTL);
    ts = await startTestServer({
      role: 'up',
      plugins: {
        'authz-bootstrap-roles': {},
        'api-scheduling-v1': {},
        'admission-priority': {},
        'scheduler-default': {},
      },
    });
  });
  after(() => ts?.close());

  it('kubectl create -f: the pod gets a node, and get events shows Scheduled from default-scheduler', async () => {
    const created = await kubectl(ts.url, ['create', '-f', '-'], MANIFEST);
    expect(created.code, created.stderr).to.equal(0);
    const wide = await waitFor(
      'web on worker-1',
      () => kubectl(ts.url, ['get', 'pod', 'web', '-o', 'wide', '--no-headers']),
      (r) => /\bworker-1\b/.test(r.stdout),
      15_000,
    );
    expect(wide.stdout).to.match(/^web\s+0\/1\s+Pending/);
    const events = await waitFor(
      'the Scheduled event',
      () => kubectl(ts.url, ['get', 'events']),
      (r) => r.stdout.includes('Scheduled'),
      10_000,
    );
    expect(events.stdout).to.match(/Normal\s+Scheduled\s+pod\/web\s+Successfully assigned default\/web to worker-1/);
  });

  it('kubectl describe pod shows the FailedScheduling message from default-scheduler', async () => {
    const described = await waitFor(
      'FailedScheduling in describe',
      () => kubectl(ts.url, ['describe', 'pod', 'huge']),
      (r) => r.stdout.includes('FailedScheduling'),
      15_000,
    );
    expect(described.stdout).to.match(
      /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/1 nodes are available: 1 Insufficient cpu\. preemption: 0\/1 nodes are available: 1 No preemption victims found for incoming pod\.\./,
    );
    expect(described.stdout).to.match(/PodScheduled\s+False/);
    const web = await kubectl(ts.url, ['describe', 'pod', 'web']);
    expect(web.stdout).to.match(
      /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/web to worker-1/,
    );
  });

  it('kubectl get priorityclasses lists the system classes with upstream columns', async () => {
    const r = await kubectl(ts.url, ['get', 'priorityclasses']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\s+PREEMPTIONPOLICY/);
    expect(r.stdout).to.match(/system-node-critical\s+2000001000\s+false\s+\S+\s+PreemptLowerPriority/);
  });

  it("a pod naming a missing PriorityClass is refused with upstream's message", async () => {
    const r = await kubectl(ts.url, [
      'run',
      'vip',
      '--image=nginx',
      '--overrides={"spec":{"priorityClassName":"gold"}}',
    ]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include('pods "vip" is forbidden: no PriorityClass with name gold was found');
  });
});

const THREE_PODS = ['a', 'b', 'c']
  .map(
    (name) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: main
    image: busybox
    command: [sleep, "3600"]
`,
  )
  .join('---\n');

describe('e2e: skiff up --nodes 3 schedules what kubectl creates', function () {
  this.timeout(120_000);
  let dir: string;
  let up: SkiffProcess | undefined;
  let server: string;
  const run = (args: string[], input?: string) =>
    kubectl(server, [`--kubeconfig=${join(dir, 'kubeconfig')}`, ...args], input);

  before(async function () {
    if (!kubectlPath) skipBecause(this, NO_KUBECTL);
    dir = mkdtempSync(join(tmpdir(), 'skiff-sched-up-'));
    up = spawnSkiff([
      'up',
      '--nodes',
      '3',
      '--runtime',
      'simulated',
      '--port',
      'auto',
      '--secure-port',
      'auto',
      '--data-dir',
      dir,
    ]);
    await up.waitForLine('ready', (l) => l.msg === 'ready', 60_000);
    const serving = up.lines.find((l) => String(l.msg).startsWith('serving HTTPS on '));
    server = String(serving?.msg).slice('serving HTTPS on '.length);
  });

  after(async () => {
    if (up && up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      await up.exited(20_000).catch(() => killAll([up!]));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl create -f: three pods bound to three nodes, Scheduled events, running', async () => {
    await waitFor(
      'three Ready nodes',
      () => run(['get', 'nodes', '--no-headers']),
      (r) => r.stdout.split('\n').filter((l) => /\sReady\s/.test(l)).length === 3,
      30_000,
    );
    const created = await run(['create', '-f', '-'], THREE_PODS);
    expect(created.code, created.stderr).to.equal(0);
    const running = await waitFor(
      'the pods running',
      () =>
        run([
          'get',
          'pods',
          '-o',
          'custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,PHASE:.status.phase',
          '--no-headers',
        ]),
      (r) =>
        r.stdout
          .trim()
          .split('\n')
          .filter((l) => /\sRunning$/.test(l)).length === 3,
      30_000,
    );
    const nodes = running.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/)[1]);
    expect(new Set(nodes).size, running.stdout).to.equal(3);
    const events = await run(['get', 'events', '--field-selector', 'reason=Scheduled']);
    for (const name of ['a', 'b', 'c'])
      expect(events.stdout).to.match(
        new RegExp(`Scheduled\\s+pod/${name}\\s+Successfully assigned default/${name} to \\S+`),
      );
  });
});
