/**
 * `skiff rolling-update` (the seed's kubectl rolling-update, 3.2.1) as a real process against
 * `skiff up`'s controllers: an RC of 3 rolls to a new image one pod at a time, never below 3
 * available nor above 4 pods, and ends under its old name; interrupted midway (killed) and run
 * again, it resumes from the annotations it left; --rollback returns to the old controller. A loop
 * in the test plays the kubelet: every new pod becomes Running and Ready.
 */
import { expect } from 'chai';
import type { Container, PodCondition } from 'kubernetes-types/core/v1.js';
import { readyAll } from '../helpers/pod-states.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';
import { waitFor } from '../helpers/wait.js';

const RCS = '/api/v1/namespaces/default/replicationcontrollers';

/** What these tests read of a listed pod and of a listed ReplicationController. */
interface ListedPod {
  metadata: { deletionTimestamp?: string; ownerReferences?: { uid: string }[] };
  spec: { containers: Container[] };
  status?: { conditions?: PodCondition[] };
}
interface ListedRC {
  metadata: { name: string; uid: string };
  spec: { replicas: number; template: { spec: { containers: Container[] } } };
}

describe('e2e: skiff rolling-update', function () {
  this.timeout(120_000);
  let ts: TestServer;
  let kubelet: NodeJS.Timeout | undefined;
  const processes: SkiffProcess[] = [];

  before(async () => {
    ts = await startTestServer({
      role: 'up',
      plugins: { 'authz-bootstrap-roles': {}, 'controller-replication': {}, 'controller-garbage-collector': {} },
    });
    let busy = false;
    kubelet = setInterval(async () => {
      if (busy) return;
      busy = true;
      await readyAll(ts.url, 'default', '').catch(() => undefined);
      busy = false;
    }, 30);
  });
  after(async () => {
    killAll(processes);
    clearInterval(kubelet);
    await ts?.close();
  });

  const rollingUpdate = (args: string[]) => {
    const p = spawnSkiff([
      'rolling-update',
      ...args,
      `--server=${ts.url}`,
      '--update-period=100ms',
      '--poll-interval=100ms',
    ]);
    processes.push(p);
    return p;
  };

  async function createRC(name: string, image: string) {
    const labels = { app: name };
    const rc = {
      metadata: { name },
      spec: {
        replicas: 3,
        selector: labels,
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } },
      },
    };
    expect((await api(ts.url, 'POST', RCS, rc)).status).to.equal(201);
    await waitFor(
      '3 ready',
      async () => (await api(ts.url, 'GET', `${RCS}/${name}`)).body.status,
      (s) => s.readyReplicas === 3,
    );
  }

  /** Samples the app's pods until stopped: the fewest available and the most existing at any time. */
  function watchPods(app: string) {
    let fewestAvailable = Number.POSITIVE_INFINITY;
    let most = 0;
    const timer = setInterval(async () => {
      const r = await api(ts.url, 'GET', `/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`).catch(
        () => undefined,
      );
      if (r?.status !== 200) return;
      const live = (r.body.items as ListedPod[]).filter((p) => !p.metadata.deletionTimestamp);
      const ready = live.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      fewestAvailable = Math.min(fewestAvailable, ready.length);
      most = Math.max(most, live.length);
    }, 10);
    return {
      stop() {
        clearInterval(timer);
        return { fewestAvailable, most };
      },
    };
  }

  const podImages = async (app: string) =>
    ((await api(ts.url, 'GET', `/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`)).body.items as ListedPod[])
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => p.spec.containers[0].image);

  it('rolls an RC of 3 to a new image, keeping 3 available, and ends with the old name', async () => {
    await createRC('frontend', 'nginx:1');
    const watch = watchPods('frontend');
    const p = rollingUpdate(['frontend', '--image=nginx:2']);
    expect(await p.exited(60_000), p.output()).to.equal(0);
    const { fewestAvailable, most } = watch.stop();
    const out = p.output();
    expect(out).to.match(/Created frontend-[0-9a-f]{32}/);
    expect(out).to.match(
      /Scaling up frontend-[0-9a-f]+ from 0 to 3, scaling down frontend from 3 to 0 \(keep 3 pods available, don't exceed 4 pods\)/,
    );
    expect(out).to.contain('Update succeeded. Deleting old controller: frontend');
    expect(out).to.match(/Renaming frontend-[0-9a-f]+ to frontend/);
    expect(out).to.contain('replicationcontroller/frontend rolling updated');
    expect(fewestAvailable).to.be.at.least(3);
    expect(most).to.be.at.most(4);
    const rcs = (await api(ts.url, 'GET', RCS)).body.items.filter((rc: ListedRC) =>
      rc.metadata.name.startsWith('frontend'),
    ) as ListedRC[];
    expect(rcs.map((rc) => rc.metadata.name)).to.deep.equal(['frontend']);
    expect(rcs[0].spec.template.spec.containers[0].image).to.equal('nginx:2');
    const images = await waitFor(
      '3 new pods, adopted',
      () => podImages('frontend'),
      (i) => i.length === 3,
    );
    expect(images).to.deep.equal(['nginx:2', 'nginx:2', 'nginx:2']);
    const pods = (await api(ts.url, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dfrontend')).body.items;
    await waitFor(
      'pods owned by the renamed RC',
      async () => (await api(ts.url, 'GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dfrontend')).body.items,
      (items: ListedPod[]) => items.every((x) => x.metadata.ownerReferences?.[0]?.uid === rcs[0].metadata.uid),
    );
    expect(pods).to.have.length(3);
  });

  it('killed midway, resumes from its annotations when run again', async () => {
    await createRC('backend', 'redis:6');
    const watch = watchPods('backend');
    const first = spawnSkiff([
      'rolling-update',
      'backend',
      '--image=redis:7',
      `--server=${ts.url}`,
      '--update-period=1500ms',
      '--poll-interval=100ms',
    ]);
    processes.push(first);
    await first.waitForLine('the first scale-up', (l) => /^Scaling backend-[0-9a-f]+ up to 1$/.test(String(l.msg)));
    first.child.kill('SIGKILL');
    await first.exited();
    const old = (await api(ts.url, 'GET', `${RCS}/backend`)).body;
    const next = old.metadata.annotations['kubectl.kubernetes.io/next-controller-id'];
    expect(next).to.match(/^backend-[0-9a-f]+$/);
    const again = rollingUpdate(['backend', '--image=redis:7']);
    expect(await again.exited(60_000), again.output()).to.equal(0);
    expect(again.output()).to.contain(`Found existing update in progress (${next}), resuming.`);
    expect(again.output()).to.contain(`Continuing update with existing controller ${next}.`);
    const { fewestAvailable, most } = watch.stop();
    expect(fewestAvailable).to.be.at.least(3);
    expect(most).to.be.at.most(4);
    const images = await waitFor(
      '3 new pods',
      () => podImages('backend'),
      (i) => i.length === 3,
    );
    expect(images).to.deep.equal(['redis:7', 'redis:7', 'redis:7']);
  });

  it('--rollback after an interrupted update returns to the old controller at its original size', async () => {
    await createRC('cache', 'memcached:1');
    const first = spawnSkiff([
      'rolling-update',
      'cache',
      '--image=memcached:2',
      `--server=${ts.url}`,
      '--update-period=1500ms',
      '--poll-interval=100ms',
    ]);
    processes.push(first);
    await first.waitForLine('the first scale-down', (l) => String(l.msg) === 'Scaling cache down to 2');
    first.child.kill('SIGKILL');
    await first.exited();
    const back = rollingUpdate(['cache', '--rollback']);
    expect(await back.exited(60_000), back.output()).to.equal(0);
    expect(back.output()).to.contain('Setting "cache" replicas to 3');
    expect(back.output()).to.match(/Update succeeded\. Deleting cache-[0-9a-f]+/);
    const rcs = (await api(ts.url, 'GET', RCS)).body.items.filter((rc: ListedRC) =>
      rc.metadata.name.startsWith('cache'),
    ) as ListedRC[];
    expect(rcs.map((rc) => [rc.metadata.name, rc.spec.replicas])).to.deep.equal([['cache', 3]]);
    const images = await waitFor(
      '3 old pods',
      () => podImages('cache'),
      (i) => i.length === 3 && i.every((x) => x === 'memcached:1'),
    );
    expect(images).to.have.length(3);
  });

  it('refuses bad arguments with kubectl 1.17 messages', async () => {
    const none = rollingUpdate(['frontend']);
    expect(await none.exited()).to.not.equal(0);
    expect(none.output()).to.contain('Must specify --filename or --image for new controller');
    const same = rollingUpdate(['frontend', '--image=nginx:2']);
    expect(await same.exited()).to.not.equal(0);
    expect(same.output()).to.contain(
      '--image-pull-policy (Always|Never|IfNotPresent) must be provided when --image is the same as existing container image',
    );
  });
});
