/**
 * Cascading deletion through the real kubectl (its --cascade flag sends the propagationPolicy):
 * `kubectl delete rc` removes the RC at once and its pods after (background), --cascade=foreground
 * keeps the RC until its pods are gone, --cascade=orphan keeps the pods without their owner; an RC
 * deleted by a client that names no policy orphans its pods, as upstream keeps for core/v1.
 */
import { expect } from 'chai';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { listPods } from '../helpers/pod-states.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const RCS = '/api/v1/namespaces/default/replicationcontrollers';

describe('e2e: kubectl delete --cascade', function () {
  this.timeout(120_000);
  let ts: TestServer;

  before(async function () {
    if (!kubectlPath) {
      console.warn('    SKIPPED: kubectl is not installed on this machine (.ci/run installs it)');
      this.skip();
    }
    ts = await startTestServer({
      role: 'up',
      plugins: { 'authz-bootstrap-roles': {}, 'controller-replication': {}, 'controller-garbage-collector': {} },
    });
  });
  after(async () => ts?.close());

  const rcYaml = (name: string) => `apiVersion: v1
kind: ReplicationController
metadata:
  name: ${name}
spec:
  replicas: 3
  selector: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: app
        image: busybox
`;
  async function ok(args: string[], input?: string): Promise<string> {
    const r = await kubectl(ts.url, args, input);
    expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  }
  const live = async (app: string) => (await listPods(ts.url, 'default', `app=${app}`)).filter((p) => !p.deleting);
  async function rcWithPods(name: string) {
    await ok(['apply', '-f', '-'], rcYaml(name));
    return waitFor(
      '3 pods',
      () => live(name),
      (p) => p.length === 3,
    );
  }

  it('kubectl delete rc (background, the default) removes the RC and then its pods', async () => {
    await rcWithPods('bg');
    expect(await ok(['delete', 'rc', 'bg'])).to.contain('replicationcontroller "bg" deleted');
    await waitFor(
      'pods gone',
      () => listPods(ts.url, 'default', 'app=bg'),
      (p) => p.length === 0,
    );
  });

  it('--cascade=foreground: the RC is gone only after its pods; kubectl waits for it', async () => {
    await rcWithPods('fg');
    // Hold one pod with a finalizer: the RC must stay, marked, until it goes.
    const [held] = await live('fg');
    const patch = JSON.stringify({ metadata: { finalizers: ['example.com/hold'] } });
    await ok(['patch', 'pod', held!.name, '--type=merge', '-p', patch]);
    const deleting = kubectl(ts.url, ['delete', 'rc', 'fg', '--cascade=foreground']);
    const rc = await waitFor(
      'RC waiting',
      () => api(ts.url, 'GET', `${RCS}/fg`),
      (r) => Boolean(r.body.metadata?.deletionTimestamp),
    );
    expect(rc.body.metadata.finalizers).to.deep.equal(['foregroundDeletion']);
    await waitFor(
      'the other pods gone',
      () => listPods(ts.url, 'default', 'app=fg'),
      (p) => p.length === 1,
    );
    expect((await api(ts.url, 'GET', `${RCS}/fg`)).status).to.equal(200);
    await ok(['patch', 'pod', held!.name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    const done = await deleting;
    expect(done.code, done.stderr).to.equal(0);
    expect((await api(ts.url, 'GET', `${RCS}/fg`)).status).to.equal(404);
    expect(await listPods(ts.url, 'default', 'app=fg')).to.deep.equal([]);
  });

  it('--cascade=orphan keeps the pods, without their owner reference', async () => {
    const before = await rcWithPods('or');
    await ok(['delete', 'rc', 'or', '--cascade=orphan']);
    expect((await api(ts.url, 'GET', `${RCS}/or`)).status).to.equal(404);
    const after = await live('or');
    expect(after.map((p) => p.uid).sort()).to.deep.equal(before.map((p) => p.uid).sort());
    for (const p of after) expect(p.owner).to.equal(undefined);
  });

  it('a DELETE naming no policy orphans an RC’s pods (upstream’s v1 default); a new RC adopts them', async () => {
    const before = await rcWithPods('plain');
    const r = await api(ts.url, 'DELETE', `${RCS}/plain`);
    expect(r.status).to.equal(200);
    await waitFor(
      'RC gone',
      () => api(ts.url, 'GET', `${RCS}/plain`),
      (x) => x.status === 404,
    );
    const orphans = await waitFor(
      'orphaned',
      () => live('plain'),
      (p) => p.length === 3 && p.every((x) => !x.owner),
    );
    expect(orphans.map((p) => p.uid).sort()).to.deep.equal(before.map((p) => p.uid).sort());
    await ok(['apply', '-f', '-'], rcYaml('plain'));
    const adopted = await waitFor(
      'adopted',
      () => live('plain'),
      (p) => p.length === 3 && p.every((x) => x.owner?.name === 'plain'),
    );
    expect(adopted.map((p) => p.uid).sort()).to.deep.equal(before.map((p) => p.uid).sort());
  });
});
