/**
 * Deployments with the real kubectl against `skiff up`'s controllers (replication, deployment,
 * garbage collector): create, rollout status, set image, history, pause and resume, undo, restart,
 * scale, apply, Recreate, the progress deadline and delete. Pods do not run: a loop in the test
 * plays the kubelet and marks every new pod Running and Ready (it can be held to freeze a rollout).
 */
import { expect } from 'chai';
import type { DeploymentCondition } from 'kubernetes-types/apps/v1.js';
import type { Container } from 'kubernetes-types/core/v1.js';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { readyAll } from '../helpers/pod-states.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

/** What these tests read of a Deployment, ReplicaSet or Pod. */
interface Workload {
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { replicas?: number; template?: { spec: { containers: Container[] } }; containers?: Container[] };
}

describe('e2e: kubectl and Deployments', function () {
  this.timeout(180_000);
  let ts: TestServer;
  let holding = false;
  let kubelet: NodeJS.Timeout | undefined;

  before(async function () {
    if (!kubectlPath) {
      console.warn('    SKIPPED: kubectl is not installed on this machine (.ci/run installs it)');
      this.skip();
    }
    ts = await startTestServer({
      role: 'up',
      plugins: {
        'api-apps-v1': {},
        'authz-bootstrap-roles': {},
        'controller-replication': {},
        'controller-deployment': {},
        'controller-garbage-collector': {},
      },
    });
    let busy = false;
    kubelet = setInterval(async () => {
      if (holding || busy) return;
      busy = true;
      try {
        await readyAll(ts.url, 'default', '');
      } catch {
        // the server is going away
      } finally {
        busy = false;
      }
    }, 50);
  });
  after(async () => {
    clearInterval(kubelet);
    await ts?.close();
  });

  const run = (args: string[], input?: string) => kubectl(ts.url, args, input);
  async function ok(args: string[], input?: string): Promise<string> {
    const r = await run(args, input);
    expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  }
  const deployment = async (name: string) =>
    (await api(ts.url, 'GET', `/apis/apps/v1/namespaces/default/deployments/${name}`)).body;
  const replicaSets = async (app: string) =>
    (await api(ts.url, 'GET', `/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3D${app}`)).body
      .items as Workload[];
  const pods = async (app: string) =>
    (
      (await api(ts.url, 'GET', `/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`)).body.items as Workload[]
    ).filter((p) => !p.metadata.deletionTimestamp);
  // A Deployment's or ReplicaSet's template image, or a pod's.
  const imageOf = (obj: Workload) => (obj.spec.template?.spec ?? obj.spec).containers?.[0]?.image;
  const revisionOf = (rs: Workload | undefined) => rs?.metadata.annotations?.['deployment.kubernetes.io/revision'];

  it('kubectl create deployment rolls out; get shows READY, UP-TO-DATE, AVAILABLE', async () => {
    expect(await ok(['create', 'deployment', 'web', '--image=nginx:1.25', '--replicas=3'])).to.contain(
      'deployment.apps/web created',
    );
    const status = await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    expect(status).to.contain('deployment "web" successfully rolled out');
    const table = await ok(['get', 'deployment', 'web']);
    expect(table).to.match(/NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    expect(table).to.match(/web\s+3\/3\s+3\s+3\s+/);
    const rs = await ok(['get', 'rs', '-l', 'app=web']);
    expect(rs).to.match(/NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE/);
    expect(rs).to.match(/web-[bcdfghjklmnpqrstvwxz2456789]+\s+3\s+3\s+3\s+/);
    const [only] = await replicaSets('web');
    expect(only?.metadata.labels?.['pod-template-hash']).to.be.a('string');
    expect(revisionOf(only)).to.equal('1');
    const d = await deployment('web');
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).to.equal('1');
    const conditions = Object.fromEntries(d.status.conditions.map((c: DeploymentCondition) => [c.type, c]));
    expect(conditions.Available).to.include({ status: 'True', reason: 'MinimumReplicasAvailable' });
    expect(conditions.Progressing).to.include({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(d.status).to.include({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    // In-process controllers write as `skiff controller-manager` does: one field manager for all.
    const managed = JSON.parse(await ok(['get', 'rs', '-l', 'app=web', '-o', 'json', '--show-managed-fields']));
    const managers = managed.items[0].metadata.managedFields.map((e: Record<string, string>) => e.manager);
    expect(new Set(managers)).to.deep.equal(new Set(['skiff-controller-manager']));
  });

  it('kubectl set image rolls to a new ReplicaSet within maxSurge and maxUnavailable', async () => {
    await ok(['scale', 'deployment/web', '--replicas=4']);
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    await ok([
      'patch',
      'deployment/web',
      '-p',
      '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}',
    ]);
    holding = true;
    try {
      await ok(['set', 'image', 'deployment/web', 'nginx=nginx:1.26']);
      // No new pod becomes ready: one surge pod, no old pod removed.
      const frozen = await waitFor(
        'the surge pod',
        () => pods('web'),
        (p) => p.length === 5,
      );
      await new Promise((r) => setTimeout(r, 500));
      expect((await pods('web')).length).to.equal(5);
      expect(frozen.filter((p) => imageOf(p) === 'nginx:1.25')).to.have.length(4);
    } finally {
      holding = false;
    }
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    const sets = await replicaSets('web');
    const byImage = Object.fromEntries(sets.map((rs) => [imageOf(rs), rs]));
    expect(byImage['nginx:1.26'].spec.replicas).to.equal(4);
    expect(byImage['nginx:1.25'].spec.replicas).to.equal(0);
    expect(revisionOf(byImage['nginx:1.26'])).to.equal('2');
    const history = await ok(['rollout', 'history', 'deployment/web']);
    expect(history).to.match(/REVISION\s+CHANGE-CAUSE/);
    expect(history)
      .to.match(/\n1\s+<none>/)
      .and.match(/\n2\s+<none>/);
  });

  it('kubectl rollout pause holds a template change; resume rolls it out', async () => {
    await ok(['rollout', 'pause', 'deployment/web']);
    await ok(['set', 'image', 'deployment/web', 'nginx=nginx:1.27']);
    const paused = await waitFor(
      'paused condition',
      () => deployment('web'),
      (d) =>
        d.status.conditions?.some(
          (c: DeploymentCondition) => c.type === 'Progressing' && c.reason === 'DeploymentPaused',
        ),
    );
    expect(paused.status.conditions.find((c: DeploymentCondition) => c.type === 'Progressing')).to.include({
      status: 'Unknown',
    });
    await new Promise((r) => setTimeout(r, 500));
    expect((await replicaSets('web')).map(imageOf)).to.not.include('nginx:1.27');
    await ok(['rollout', 'resume', 'deployment/web']);
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    const images = (await pods('web')).map(imageOf);
    expect(images).to.have.length(4);
    expect(new Set(images)).to.deep.equal(new Set(['nginx:1.27']));
  });

  it('kubectl rollout undo goes back one revision, and to a named one; history follows', async () => {
    await ok(['rollout', 'undo', 'deployment/web']);
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    expect(imageOf(await deployment('web'))).to.equal('nginx:1.26');
    const back = (await replicaSets('web')).find((rs) => imageOf(rs) === 'nginx:1.26');
    expect(revisionOf(back)).to.equal('4');
    expect(back?.metadata.annotations?.['deployment.kubernetes.io/revision-history']).to.equal('2');
    await ok(['rollout', 'undo', 'deployment/web', '--to-revision=1']);
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    expect(imageOf(await deployment('web'))).to.equal('nginx:1.25');
    const history = await ok(['rollout', 'history', 'deployment/web']);
    expect(history)
      .to.match(/\n3\s+<none>/)
      .and.match(/\n4\s+<none>/)
      .and.match(/\n5\s+<none>/);
    expect(await ok(['rollout', 'history', 'deployment/web', '--revision=5'])).to.contain('nginx:1.25');
  });

  it('kubectl rollout restart makes a new ReplicaSet with the restartedAt annotation', async () => {
    const before = (await replicaSets('web')).length;
    await ok(['rollout', 'restart', 'deployment/web']);
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    const d = await deployment('web');
    expect(d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).to.be.a('string');
    expect((await replicaSets('web')).length).to.equal(before + 1);
  });

  it('kubectl scale deployment resizes the current ReplicaSet', async () => {
    await ok(['scale', 'deployment', 'web', '--replicas=6']);
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    expect(await pods('web')).to.have.length(6);
    await ok(['scale', 'deployment', 'web', '--replicas=2']);
    await waitFor(
      '2 pods',
      () => pods('web'),
      (p) => p.length === 2,
    );
  });

  it('kubectl apply creates and updates a Deployment (strategic merge of the template)', async () => {
    const manifest = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: applied
spec:
  replicas: 2
  selector:
    matchLabels: {app: applied}
  template:
    metadata:
      labels: {app: applied}
    spec:
      containers:
      - name: app
        image: ${image}
        ports:
        - containerPort: 80
`;
    expect(await ok(['apply', '-f', '-'], manifest('busybox:1'))).to.contain('deployment.apps/applied created');
    await ok(['rollout', 'status', 'deployment/applied', '--timeout=60s']);
    expect(await ok(['apply', '-f', '-'], manifest('busybox:2'))).to.contain('deployment.apps/applied configured');
    await ok(['rollout', 'status', 'deployment/applied', '--timeout=60s']);
    const d = await deployment('applied');
    expect(imageOf(d)).to.equal('busybox:2');
    expect(d.spec.template.spec.containers[0].ports).to.deep.equal([{ containerPort: 80, protocol: 'TCP' }]);
  });

  it('Recreate removes every old pod before the new ReplicaSet gets any', async () => {
    await ok(['create', 'deployment', 'batch', '--image=busybox:1', '--replicas=2']);
    await ok(['patch', 'deployment/batch', '-p', '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}']);
    await ok(['rollout', 'status', 'deployment/batch', '--timeout=60s']);
    let mixed = false;
    const watch = setInterval(async () => {
      const images = new Set((await pods('batch').catch(() => [])).map(imageOf));
      if (images.size > 1) mixed = true;
    }, 20);
    try {
      await ok(['set', 'image', 'deployment/batch', 'busybox=busybox:2']);
      await ok(['rollout', 'status', 'deployment/batch', '--timeout=60s']);
    } finally {
      clearInterval(watch);
    }
    expect(mixed, 'old and new pods existed at once').to.equal(false);
    expect((await pods('batch')).map(imageOf)).to.deep.equal(['busybox:2', 'busybox:2']);
  });

  it('a rollout that makes no progress for progressDeadlineSeconds is reported as ProgressDeadlineExceeded', async () => {
    holding = true;
    try {
      await ok(['create', 'deployment', 'stuck', '--image=busybox:1']);
      await ok(['patch', 'deployment/stuck', '-p', '{"spec":{"progressDeadlineSeconds":2}}']);
      const r = await run(['rollout', 'status', 'deployment/stuck', '--timeout=30s']);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.contain('deployment "stuck" exceeded its progress deadline');
      const d = await deployment('stuck');
      const progressing = d.status.conditions.find((c: DeploymentCondition) => c.type === 'Progressing');
      expect(progressing).to.include({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    } finally {
      holding = false;
    }
  });

  it('kubectl delete deployment removes its ReplicaSets and pods (garbage collector)', async () => {
    expect(await ok(['delete', 'deployment', 'web'])).to.contain('deployment.apps "web" deleted');
    await waitFor(
      'ReplicaSets gone',
      () => replicaSets('web'),
      (l) => l.length === 0,
    );
    await waitFor(
      'pods gone',
      () => pods('web'),
      (l) => l.length === 0,
    );
  });
});
