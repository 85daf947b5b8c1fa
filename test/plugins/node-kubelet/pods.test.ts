/**
 * The kubelet's pod management (seed 3.4.2) with real processes: pods bound to a node run, answer
 * at their pod IP and report upstream's status; restart policies and CrashLoopBackOff; a changed
 * container spec restarts only that container; init containers in order; environment; image and
 * config errors; graceful deletion; the kubelet's own admission (--max-pods); postStart hooks.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from 'skiff/sdk';
import { CORE_V1 } from 'skiff/sdk/client';
import type { Kubelet } from '../../../plugins/node-kubelet/kubelet.js';
import {
  condition,
  eventsOf,
  getPod,
  HTTP_SERVER,
  httpText,
  isRoot,
  type KubeletHarness,
  PODS,
  podSpec,
  processesOf,
  reasons,
  rootReason,
  startHarness,
  waitFor,
} from './helpers.js';

const running = (p: Pod) => p.status?.phase === 'Running' && condition(p, 'Ready') === 'True';
const SLEEPER = ['node', '-e', "process.on('SIGTERM',()=>process.exit(0));setInterval(()=>{},1000)"];

describe('node-kubelet: pods on real processes', function () {
  this.timeout(60_000);
  let h: KubeletHarness;
  let n1: Kubelet;
  const scratch = mkdtempSync(join(tmpdir(), 'skiff-kubelet-pods-'));

  before(async function () {
    if (!isRoot) {
      console.warn(`      skipped: ${rootReason}`);
      this.skip();
    }
    h = await startHarness();
    n1 = await h.kubelet('n1');
  });

  after(async () => {
    await h?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('runs a pod bound to its node: Running, a pod IP that answers HTTP, status and events as upstream', async () => {
    await h.admin.create(PODS, 'default', podSpec('web', 'n1', HTTP_SERVER));
    const pod = await waitFor('web Running and Ready', () => getPod(h, 'web'), running);
    const node = await h.admin.get(CORE_V1('nodes'), '', 'n1');
    const internalIP = (node.status as { addresses: { type: string; address: string }[] }).addresses[0]!.address;
    const status = pod.status!;
    expect(status.hostIP).to.equal(internalIP);
    expect(status.hostIPs).to.deep.equal([{ ip: internalIP }]);
    expect(status.podIPs).to.deep.equal([{ ip: status.podIP }]);
    expect(status.podIP!.split('.').slice(0, 3)).to.deep.equal(internalIP.split('.').slice(0, 3));
    expect(status.startTime).to.be.a('string');
    expect(status.qosClass).to.equal('BestEffort');
    expect(status.conditions!.map((c) => `${c.type}=${c.status}`)).to.deep.equal([
      'PodReadyToStartContainers=True',
      'Initialized=True',
      'Ready=True',
      'ContainersReady=True',
      'PodScheduled=True',
    ]);
    const c = status.containerStatuses![0]!;
    expect(c).to.include({ name: 'main', ready: true, started: true, restartCount: 0, image: 'node' });
    expect(c.containerID).to.match(/^skiff-process:\/\/[0-9a-f]+$/);
    expect(c.imageID).to.match(/^node@sha256:/);
    expect(c.state?.running?.startedAt).to.be.a('string');
    expect(await httpText(`http://${status.podIP}:8080/`)).to.equal('pod web');
    const events = await waitFor(
      'Started event',
      () => eventsOf(h, 'web'),
      (e) => e.some((x) => x.reason === 'Started'),
    );
    expect(reasons(events)).to.include.members([
      'Pulled: Container image "node" already present on machine',
      'Created: Created container: main',
      'Started: Started container main',
    ]);
    const started = events.find((e) => e.reason === 'Started')!;
    expect(started.source).to.deep.equal({ component: 'kubelet', host: 'n1' });
    expect((started.involvedObject as { fieldPath: string }).fieldPath).to.equal('spec.containers{main}');
  });

  it('gives two pods on one node their own network: both listen on :8080', async () => {
    await h.admin.create(PODS, 'default', podSpec('twin-a', 'n1', HTTP_SERVER));
    await h.admin.create(PODS, 'default', podSpec('twin-b', 'n1', HTTP_SERVER));
    const a = await waitFor('twin-a', () => getPod(h, 'twin-a'), running);
    const b = await waitFor('twin-b', () => getPod(h, 'twin-b'), running);
    expect(a.status!.podIP).to.not.equal(b.status!.podIP);
    expect(await httpText(`http://${a.status!.podIP}:8080/`)).to.equal('pod twin-a');
    expect(await httpText(`http://${b.status!.podIP}:8080/`)).to.equal('pod twin-b');
  });

  it("never hands out an address a stray namespace of the prefix still holds (a killed runtime's pod)", async () => {
    const { prefix, clusterCIDR } = h.runtimeConfig;
    const range = `${clusterCIDR.split('.').slice(0, 2).join('.')}.77`;
    // What a runtime killed together with its data dir leaves: a pod namespace holding range.2.
    const stray = `${prefix}-stray0000000`;
    execFileSync('ip', ['netns', 'add', stray]);
    execFileSync('ip', ['link', 'add', `${prefix}vstray000`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', stray]);
    execFileSync('ip', ['-n', stray, 'addr', 'add', `${range}.2/24`, 'dev', 'eth0']);
    await h.kubelet('n77', { podCIDR: `${range}.0/24` });
    await h.admin.create(PODS, 'default', podSpec('after-stray', 'n77', HTTP_SERVER));
    const pod = await waitFor('after-stray running', () => getPod(h, 'after-stray'), running);
    expect(pod.status!.podIP).to.equal(`${range}.3`);
    expect(await httpText(`http://${pod.status!.podIP}:8080/`)).to.equal('pod after-stray');
  });

  describe('restart policies (exit 0 / exit 1 × Always / OnFailure / Never)', () => {
    const cases = [
      { exit: 0, policy: 'Always', phase: 'Running', restarts: true },
      { exit: 1, policy: 'Always', phase: 'Running', restarts: true },
      { exit: 0, policy: 'OnFailure', phase: 'Succeeded', restarts: false },
      { exit: 1, policy: 'OnFailure', phase: 'Running', restarts: true },
      { exit: 0, policy: 'Never', phase: 'Succeeded', restarts: false },
      { exit: 1, policy: 'Never', phase: 'Failed', restarts: false },
    ];
    const name = (c: (typeof cases)[number]) => `exit${c.exit}-${c.policy.toLowerCase()}`;
    const seen = new Map<string, Set<string>>();

    before(async () => {
      await Promise.all(
        cases.map((c) =>
          h.admin.create(
            PODS,
            'default',
            podSpec(name(c), 'n1', ['node', '-e', `process.exit(${c.exit})`], { restartPolicy: c.policy }),
          ),
        ),
      );
    });

    for (const c of cases) {
      it(`${name(c)}: phase ${c.phase}, ${c.restarts ? 'restarted with CrashLoopBackOff' : 'never restarted'}`, async () => {
        const waits = seen.get(name(c)) ?? new Set<string>();
        seen.set(name(c), waits);
        const pod = await waitFor(
          `${name(c)} to settle`,
          () => getPod(h, name(c)),
          (p) => {
            const s = p.status?.containerStatuses?.[0];
            if (s?.state?.waiting?.message) waits.add(s.state.waiting.message);
            if (!c.restarts) return p.status?.phase === c.phase;
            return (
              p.status?.phase === c.phase &&
              (s?.restartCount ?? 0) >= 2 &&
              s?.state?.waiting?.reason === 'CrashLoopBackOff'
            );
          },
        );
        const s = pod.status!.containerStatuses![0]!;
        if (c.restarts) {
          expect(
            [...waits].some((m) => /^back-off \ds restarting failed container=main pod=exit\d-\w+_default\(/.test(m)),
          ).to.equal(true);
          expect(s.lastState?.terminated).to.include({ exitCode: c.exit, reason: c.exit ? 'Error' : 'Completed' });
          const events = await eventsOf(h, name(c));
          expect(
            reasons(events).some((r) => r.startsWith('BackOff: Back-off restarting failed container main in pod ')),
          ).to.equal(true);
        } else {
          expect(s.restartCount).to.equal(0);
          expect(s.state?.terminated).to.include({ exitCode: c.exit, reason: c.exit ? 'Error' : 'Completed' });
          expect(condition(pod, 'Ready')).to.equal('False');
        }
      });
    }

    it('waits longer between restarts each time (upstream: 10 s doubling; here 1 s doubling up to 4 s)', async () => {
      const pod = await waitFor(
        '3 restarts',
        () => getPod(h, 'exit1-always'),
        (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 3,
      );
      const state = await n1.runtimeState(pod.metadata!.uid!);
      const byAttempt = [...state.containers].sort((a, b) => a.attempt - b.attempt);
      const gaps = byAttempt
        .slice(1, 4)
        .map((c, i) => (Date.parse(c.startedAt!) - Date.parse(byAttempt[i]!.finishedAt!)) / 1000);
      // Lower bounds only: a loaded machine adds delay, never takes it away; the bounded wait
      // above (3 restarts within 15 s) is what a back-off far too long would fail.
      expect(gaps[0], 'the first restart is immediate').to.be.below(0.9);
      expect(gaps[1], 'then 1 s').to.be.at.least(0.9);
      expect(gaps[2], 'then doubled').to.be.at.least(1.9);
    });
  });

  it('restarts only the container whose spec changed (a new image)', async () => {
    const spec = podSpec('two', 'n1', SLEEPER);
    (spec.spec as { containers: unknown[] }).containers.push({ name: 'side', image: 'node', command: SLEEPER });
    await h.admin.create(PODS, 'default', spec);
    const before = await waitFor('two running', () => getPod(h, 'two'), running);
    const id = (p: Pod, n: string) => p.status!.containerStatuses!.find((c) => c.name === n)!;
    const patched = { spec: { containers: [{ name: 'main', image: 'node:20' }] } };
    await h.admin.patch(PODS, 'default', 'two', 'strategic', patched);
    const after = await waitFor(
      'main restarted',
      () => getPod(h, 'two'),
      (p) => id(p, 'main').restartCount === 1 && running(p),
    );
    expect(id(after, 'main').containerID).to.not.equal(id(before, 'main').containerID);
    expect(id(after, 'main').image).to.equal('node:20');
    expect(id(after, 'side')).to.deep.include({ restartCount: 0, containerID: id(before, 'side').containerID });
    expect(reasons(await eventsOf(h, 'two'))).to.include(
      'Killing: Container main definition changed, will be restarted',
    );
  });

  it('runs init containers one at a time, in order, before the app containers', async () => {
    const out = join(scratch, 'init-order');
    const append = (text: string) => ['sh', '-c', `echo ${text} >> /out/order`];
    const volume = { name: 'out', hostPath: { path: out, type: 'DirectoryOrCreate' } };
    const mount = [{ name: 'out', mountPath: '/out' }];
    await h.admin.create(PODS, 'default', {
      metadata: { name: 'inits' },
      spec: {
        nodeName: 'n1',
        terminationGracePeriodSeconds: 2,
        volumes: [volume],
        initContainers: [
          { name: 'first', image: 'debian', command: append('first'), volumeMounts: mount },
          { name: 'second', image: 'debian', command: append('second'), volumeMounts: mount },
        ],
        containers: [
          {
            name: 'main',
            image: 'debian',
            command: ['sh', '-c', 'echo main >> /out/order; exec sleep 600'],
            volumeMounts: mount,
          },
        ],
      },
    } as KubeObject);
    const pod = await waitFor('inits running', () => getPod(h, 'inits'), running);
    expect(readFileSync(join(out, 'order'), 'utf8').split('\n').filter(Boolean)).to.deep.equal([
      'first',
      'second',
      'main',
    ]);
    expect(pod.status!.initContainerStatuses!.map((s) => s.state?.terminated?.reason)).to.deep.equal([
      'Completed',
      'Completed',
    ]);
    expect(condition(pod, 'Initialized')).to.equal('True');
  });

  it('gives a container its environment: fieldRef, resourceFieldRef, ConfigMap and Secret keys, envFrom, $(VAR)', async () => {
    await h.admin.create(CORE_V1('configmaps'), 'default', {
      metadata: { name: 'settings' },
      data: { color: 'blue', SIZE: 'L' },
    });
    await h.admin.create(CORE_V1('secrets'), 'default', {
      metadata: { name: 'creds' },
      stringData: { password: 's3cret' },
    } as KubeObject);
    const dump = [
      'node',
      '-e',
      "process.on('SIGTERM',()=>process.exit(0));require('http').createServer((q,s)=>s.end(JSON.stringify({env:process.env,argv:process.argv.slice(1)}))).listen(8080)",
      '$(GREETING)',
      '$$(GREETING)',
    ];
    await h.admin.create(PODS, 'default', {
      metadata: { name: 'envs', labels: { app: 'envs' } },
      spec: {
        nodeName: 'n1',
        terminationGracePeriodSeconds: 2,
        containers: [
          {
            name: 'main',
            image: 'node',
            command: dump,
            resources: { limits: { memory: '64Mi' } },
            envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CM_' }],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
              { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
              { name: 'COLOR', valueFrom: { configMapKeyRef: { name: 'settings', key: 'color' } } },
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
              { name: 'GREETING', value: 'hello $(COLOR)' },
            ],
          },
        ],
      },
    } as KubeObject);
    const pod = await waitFor('envs running', () => getPod(h, 'envs'), running);
    const { env, argv } = JSON.parse(await httpText(`http://${pod.status!.podIP}:8080/`)) as {
      env: Record<string, string>;
      argv: string[];
    };
    expect(env).to.include({
      POD_NAME: 'envs',
      APP: 'envs',
      NODE: 'n1',
      POD_IP: pod.status!.podIP,
      MEM_MI: '64',
      COLOR: 'blue',
      PASSWORD: 's3cret',
      GREETING: 'hello blue',
      CM_color: 'blue',
      CM_SIZE: 'L',
    });
    expect(argv.slice(-2)).to.deep.equal(['hello blue', '$(GREETING)']);
  });

  it('waits with CreateContainerConfigError while a Secret it reads is missing, then starts', async () => {
    const spec = podSpec('needs-secret2', 'n1', SLEEPER);
    (spec.spec as { containers: Record<string, unknown>[] }).containers[0]!.env = [
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'later', key: 'token' } } },
    ];
    await h.admin.create(PODS, 'default', spec);
    const waiting = await waitFor(
      'CreateContainerConfigError',
      () => getPod(h, 'needs-secret2'),
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError',
    );
    expect(waiting.status!.containerStatuses![0]!.state!.waiting!.message).to.equal('secret "later" not found');
    expect(waiting.status!.phase).to.equal('Pending');
    await h.admin.create(CORE_V1('secrets'), 'default', {
      metadata: { name: 'later' },
      stringData: { token: 't' },
    } as KubeObject);
    await waitFor('needs-secret2 running', () => getPod(h, 'needs-secret2'), running);
  });

  it('reports ErrImagePull, then ImagePullBackOff, for an image it cannot resolve', async () => {
    const spec = podSpec('bad-image', 'n1', SLEEPER);
    const container = (spec.spec as { containers: Record<string, unknown>[] }).containers[0]!;
    container.image = 'registry.example/no-such-image:1';
    delete container.command;
    await h.admin.create(PODS, 'default', spec);
    const seen = new Set<string>();
    await waitFor(
      'ErrImagePull then ImagePullBackOff',
      () => getPod(h, 'bad-image'),
      (p) => {
        const w = p.status?.containerStatuses?.[0]?.state?.waiting;
        if (w) seen.add(w.reason!);
        return seen.has('ErrImagePull') && seen.has('ImagePullBackOff');
      },
    );
    const pod = await getPod(h, 'bad-image');
    expect(pod.status!.phase).to.equal('Pending');
    const events = reasons(await eventsOf(h, 'bad-image'));
    expect(
      events.some((e) => e.startsWith('Failed: Failed to pull image "registry.example/no-such-image:1": ')),
    ).to.equal(true);
    expect(events).to.include.members([
      'Failed: Error: ErrImagePull',
      'BackOff: Back-off pulling image "registry.example/no-such-image:1"',
    ]);
  });

  it('stops a deleted pod gracefully (preStop hook, SIGTERM), then deletes the pod object', async () => {
    const marks = join(scratch, 'prestop');
    await h.admin.create(PODS, 'default', {
      metadata: { name: 'leaving' },
      spec: {
        nodeName: 'n1',
        terminationGracePeriodSeconds: 5,
        volumes: [{ name: 'marks', hostPath: { path: marks, type: 'DirectoryOrCreate' } }],
        containers: [
          {
            name: 'main',
            image: 'debian',
            command: ['sh', '-c', "trap 'echo term >> /marks/log; exit 0' TERM; while true; do sleep 0.1; done"],
            volumeMounts: [{ name: 'marks', mountPath: '/marks' }],
            lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /marks/log'] } } },
          },
        ],
      },
    } as KubeObject);
    await waitFor('leaving running', () => getPod(h, 'leaving'), running);
    const answer = await h.admin.delete(PODS, 'default', 'leaving');
    expect(answer.metadata.deletionTimestamp, 'marked, not removed at once').to.be.a('string');
    expect(answer.metadata.deletionGracePeriodSeconds).to.equal(5);
    await waitFor(
      'leaving gone',
      () => h.admin.list(PODS, 'default'),
      (l) => !l.items.some((p) => p.metadata.name === 'leaving'),
    );
    expect(readFileSync(join(marks, 'log'), 'utf8').split('\n').filter(Boolean)).to.deep.equal(['prestop', 'term']);
    expect(reasons(await eventsOf(h, 'leaving'))).to.include('Killing: Stopping container main');
  });

  it('kills a container that ignores SIGTERM once its grace period is over, after an httpGet preStop hook', async () => {
    const marks = join(scratch, 'stubborn');
    const marker = `stubborn-${Date.now()}`;
    // Ignores SIGTERM (only notes it); the preStop hook's GET /prestop is noted too.
    const server = `const fs=require('fs');const note=(w)=>fs.appendFileSync('/marks/log',w+'\\n');
      process.on('SIGTERM',()=>note('term'));
      require('http').createServer((q,s)=>{if(q.url==='/prestop')note('prestop');s.end('ok')}).listen(8080)`;
    await h.admin.create(PODS, 'default', {
      metadata: { name: 'stubborn' },
      spec: {
        nodeName: 'n1',
        terminationGracePeriodSeconds: 1,
        volumes: [{ name: 'marks', hostPath: { path: marks, type: 'DirectoryOrCreate' } }],
        containers: [
          {
            name: 'main',
            image: 'node',
            command: ['node', '-e', server, marker],
            volumeMounts: [{ name: 'marks', mountPath: '/marks' }],
            lifecycle: { preStop: { httpGet: { path: '/prestop', port: 8080 } } },
          },
        ],
      },
    } as KubeObject);
    const pod = await waitFor('stubborn running', () => getPod(h, 'stubborn'), running);
    await httpText(`http://${pod.status!.podIP}:8080/`);
    await h.admin.delete(PODS, 'default', 'stubborn');
    await waitFor(
      'stubborn gone',
      () => h.admin.list(PODS, 'default'),
      (l) => !l.items.some((p) => p.metadata.name === 'stubborn'),
    );
    expect(readFileSync(join(marks, 'log'), 'utf8').split('\n').filter(Boolean)).to.deep.equal(['prestop', 'term']);
    expect(processesOf(marker), 'SIGKILL ended what SIGTERM did not').to.deep.equal([]);
  });

  it('a node stopping cuts short a deletion still waiting out a long grace period (shutdownGracePeriod)', async () => {
    const marks = join(scratch, 'lingering');
    const marker = `lingering-${Date.now()}`;
    const node = await h.kubelet('n-shut');
    // Ignores SIGTERM (notes it); says when its handler is in place: before that, as PID 1 of its
    // namespace, it would ignore SIGTERM without noting it.
    const ignoring = `const fs=require('fs');const note=(w)=>fs.appendFileSync('/marks/log',w+'\\n');
      process.on('SIGTERM',()=>note('term'));note('ready');setInterval(()=>{},1000)`;
    await h.admin.create(PODS, 'default', {
      metadata: { name: 'lingering' },
      spec: {
        nodeName: 'n-shut',
        terminationGracePeriodSeconds: 120,
        volumes: [{ name: 'marks', hostPath: { path: marks, type: 'DirectoryOrCreate' } }],
        containers: [
          {
            name: 'main',
            image: 'node',
            command: ['node', '-e', ignoring, marker],
            volumeMounts: [{ name: 'marks', mountPath: '/marks' }],
          },
        ],
      },
    } as KubeObject);
    const notes = async () => (existsSync(join(marks, 'log')) ? readFileSync(join(marks, 'log'), 'utf8') : '');
    await waitFor('lingering running', () => getPod(h, 'lingering'), running);
    await waitFor('its SIGTERM handler', notes, (text) => text.includes('ready'));
    await h.admin.delete(PODS, 'default', 'lingering');
    await waitFor('SIGTERM delivered', notes, (text) => text.includes('term'));
    const started = Date.now();
    await node.stop({ stopPods: true });
    const seconds = (Date.now() - started) / 1000;
    // shutdownGracePeriod is 2 s here; before, the stop waited for the pod's 120 s.
    expect(seconds, 'stop took').to.be.below(15);
    expect(processesOf(marker), 'SIGKILL at the shutdown cap').to.deep.equal([]);
  });

  it('kills a container whose postStart hook fails (FailedPostStartHook) and restarts it', async () => {
    const spec = podSpec('poststart', 'n1', SLEEPER);
    (spec.spec as { containers: Record<string, unknown>[] }).containers[0]!.lifecycle = {
      postStart: { exec: { command: ['sh', '-c', 'exit 3'] } },
    };
    await h.admin.create(PODS, 'default', spec);
    await waitFor(
      'restarted after postStart',
      () => getPod(h, 'poststart'),
      (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
    );
    const events = reasons(await eventsOf(h, 'poststart'));
    expect(
      events.some((e) =>
        e.startsWith('FailedPostStartHook: Exec lifecycle hook ([sh -c exit 3]) for Container "main"'),
      ),
    ).to.equal(true);
    expect(events).to.include('Killing: FailedPostStartHook');
  });

  it("rejects a pod beyond --max-pods with upstream's OutOfpods", async () => {
    await h.kubelet('tiny', { maxPods: 1 });
    await h.admin.create(PODS, 'default', podSpec('tiny-1', 'tiny', SLEEPER));
    await waitFor('tiny-1 running', () => getPod(h, 'tiny-1'), running);
    await h.admin.create(PODS, 'default', podSpec('tiny-2', 'tiny', SLEEPER));
    const rejected = await waitFor(
      'tiny-2 failed',
      () => getPod(h, 'tiny-2'),
      (p) => p.status?.phase === 'Failed',
    );
    const message = "Node didn't have enough resource: pods, requested: 1, used: 1, capacity: 1";
    expect(rejected.status).to.include({ reason: 'OutOfpods', message: `Pod was rejected: ${message}` });
    expect(reasons(await eventsOf(h, 'tiny-2'))).to.include(`OutOfpods: ${message}`);
  });
});
