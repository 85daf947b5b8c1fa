/**
 * kubectl 1.32 against `skiff up --nodes 2` (a real child process) running real pods, and a third
 * node as `skiff kubelet` in its own process: the README's walk-through (`kubectl run` with a
 * nodeName, a pod IP that answers HTTP), CrashLoopBackOff, Completed and Error as kubectl prints
 * them, `kubectl set image` restarting the container, a static pod from --pod-manifest-path with a
 * mirror pod kubectl can delete (it comes back), a ConfigMap volume with a readiness probe, a
 * kubelet killed with -9 and started again adopting its pod, and after SIGTERM nothing left on
 * the host. Everything runs under its own runtime prefix and cluster range.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml, stringify } from 'yaml';
import { nodeIdentity } from '../../core/auth/pki.js';
import { buildKubeconfig } from '../../plugins/pki-local/kubeconfig.js';
import { LocalPki } from '../../plugins/pki-local/local-pki.js';
import { sweepProcessRuntime } from '../../plugins/runtime-process/index.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';
import { waitFor } from '../helpers/wait.js';
import { freeClusterCidr, isRoot, leftovers, processesOf, testPrefix } from '../plugins/runtime-process/helpers.js';

const SERVER =
  "process.on('SIGTERM',()=>process.exit(0));require('http').createServer((q,s)=>s.end('hello from '+require('os').hostname())).listen(8080)";

describe('e2e: kubectl against skiff up --nodes 2, and skiff kubelet', function () {
  this.timeout(120_000);
  const processes: SkiffProcess[] = [];
  let dir: string;
  let kubeconfig: string;
  let up: SkiffProcess;
  let configFile: string;
  let runtime: { prefix: string; clusterCIDR: string; loopbackCIDR: string };

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
  const podTable = async (name: string) =>
    (await ok(['get', 'pod', name, '--no-headers', '-o', 'wide'])).trim().split(/\s+/);
  const jsonpath = (name: string, path: string) => ok(['get', 'pod', name, '-o', `jsonpath={${path}}`]);
  /** A JSON POST with the admin kubeconfig's client certificate, or with a bearer token only. */
  const post = (path: string, body: unknown, token?: string) => {
    const config = parseYaml(readFileSync(kubeconfig, 'utf8'));
    const user = config.users[0].user;
    const server = new URL(config.clusters[0].cluster.server);
    const pem = (b64: string) => Buffer.from(b64, 'base64').toString();
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers, read field by field
    return new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: server.hostname,
          port: server.port,
          path,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          ca: pem(config.clusters[0].cluster['certificate-authority-data']),
          ...(token ? {} : { cert: pem(user['client-certificate-data']), key: pem(user['client-key-data']) }),
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  };

  before(async function () {
    if (!isRoot || !kubectlPath) {
      console.warn('      skipped: needs root (runtime-process) and kubectl');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'skiff-kubelet-e2e-'));
    const range = freeClusterCidr();
    runtime = { prefix: testPrefix(), clusterCIDR: range.cluster, loopbackCIDR: `127.${range.second}.0.0/16` };
    const manifests = join(dir, 'manifests');
    mkdirSync(manifests);
    writeFileSync(
      join(manifests, 'static.yaml'),
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'static' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'web', image: 'node', command: ['node', '-e', SERVER] }],
        },
      }),
    );
    const config = parseYaml(readFileSync('config/default.yaml', 'utf8'));
    config.server.dataDir = join(dir, 'data');
    config.server.securePort = 'auto';
    config.plugins['runtime-process'] = { config: runtime };
    // The test-only knobs: restarts back off 1 s doubling (upstream 10 s), changes are noticed sooner.
    config.plugins['node-kubelet'] = {
      config: {
        crashLoopBackOff: { initialSeconds: 1, maxContainerRestartPeriod: 4 },
        relistPeriod: 0.3,
        shutdownGracePeriod: 2,
        // The kubelets' servers on free ports: three kubelets run here, and 10250 may be taken.
        port: 'auto',
      },
    };
    configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, stringify(config));
    up = spawnSkiff([
      'up',
      '--config',
      configFile,
      '--nodes',
      '2',
      '--hostname-override',
      'e2e',
      '--pod-manifest-path',
      manifests,
      '--file-check-frequency',
      '1s',
    ]);
    processes.push(up);
    await up.waitForLine('ready', (l) => l.msg === 'ready', 60_000);
    kubeconfig = join(dir, 'data', 'kubeconfig');
  });

  after(async () => {
    // Graceful first (the pods stop and the runtime removes what it made); then whatever a process
    // killed mid-test left behind (its pods keep running, by design) is swept.
    for (const p of processes) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      p.child.kill('SIGTERM');
      await p.exited(20_000).catch(() => undefined);
    }
    killAll(processes);
    const roots = dir
      ? ['e2e-1', 'e2e-2'].map((n) => join(dir, 'data', 'kubelet', n)).concat(join(dir, 'ext-root'))
      : [];
    if (runtime) await sweepProcessRuntime(runtime, roots);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl get nodes: two nodes named after the host override plus an index, Ready', async () => {
    await waitFor(
      'two Ready nodes',
      () => kubectl(['get', 'nodes', '--no-headers']),
      (r) => (r.stdout.match(/ Ready /g) ?? []).length === 2,
    );
    const rows = (await ok(['get', 'nodes', '--no-headers'])).trim().split('\n');
    expect(rows.map((r) => r.split(/\s+/)[0])).to.deep.equal(['e2e-1', 'e2e-2']);
    expect(rows[0]).to.contain('v1.32.0+skiff');
  });

  it('kubectl run with a nodeName: Running, and its pod IP answers HTTP', async () => {
    await ok([
      'run',
      'web',
      '--image=node',
      '--overrides={"spec":{"nodeName":"e2e-1","terminationGracePeriodSeconds":1}}',
      '--command',
      '--',
      'node',
      '-e',
      SERVER,
    ]);
    await ok(['wait', '--for=condition=Ready', 'pod/web', '--timeout=30s']);
    const ip = await jsonpath('web', '.status.podIP');
    const answer = await waitFor(
      'HTTP',
      () =>
        fetch(`http://${ip}:8080/`).then(
          (r) => r.text(),
          () => '',
        ),
      (t) => t !== '',
    );
    expect(answer).to.equal('hello from web');
    expect(await podTable('web')).to.include.members(['1/1', 'Running', 'e2e-1']);
    // The in-process kubelet writes the status as "kubelet", as a kubelet of its own (and upstream's) does.
    const pod = JSON.parse(await ok(['get', 'pod', 'web', '-o', 'json', '--show-managed-fields']));
    const managers = pod.metadata.managedFields.map(
      (e: Record<string, string>) => `${e.manager}/${e.subresource ?? ''}`,
    );
    expect(managers).to.have.members(['kubectl-run/', 'kubelet/status']);
  });

  it("writes the pod's service-account volume: a token from TokenRequest, the cluster CA, the namespace", async () => {
    const uid = await jsonpath('web', '.metadata.uid');
    const volume = await jsonpath('web', '.spec.volumes[0].name');
    expect(volume).to.match(/^kube-api-access-/);
    const files = join(dir, 'data', 'kubelet', 'e2e-1', 'pods', uid, 'volumes', 'kubernetes.io~projected', volume);
    const token = readFileSync(join(files, 'token'), 'utf8');
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims.sub).to.equal('system:serviceaccount:default:default');
    // Bound to the pod (spec.boundObjectRef): the token dies with it.
    expect(claims['kubernetes.io'].pod).to.deep.equal({ name: 'web', uid });
    expect(readFileSync(join(files, 'ca.crt'), 'utf8')).to.contain('BEGIN CERTIFICATE');
    expect(readFileSync(join(files, 'namespace'), 'utf8')).to.equal('default');
  });

  it('kubectl create token --bound-object-kind Pod binds the token to the pod; another account may not', async () => {
    const uid = await jsonpath('web', '.metadata.uid');
    const token = await ok(['create', 'token', 'default', '--bound-object-kind', 'Pod', '--bound-object-name', 'web']);
    const claims = JSON.parse(Buffer.from(token.trim().split('.')[1]!, 'base64url').toString());
    expect(claims['kubernetes.io'].pod).to.deep.equal({ name: 'web', uid });
    await ok(['create', 'serviceaccount', 'other']);
    const refused = await kubectl([
      'create',
      'token',
      'other',
      '--bound-object-kind',
      'Pod',
      '--bound-object-name',
      'web',
    ]);
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.contain(
      'cannot bind token for serviceaccount "other" to pod running with different serviceaccount name',
    );
    // Over HTTPS as the admin: `kubectl create --raw` sends no Content-Type, which Skiff refuses.
    const request = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { boundObjectRef: { apiVersion: 'v1', kind: 'ConfigMap', name: 'site' } },
    };
    const wrongKind = await post('/api/v1/namespaces/default/serviceaccounts/default/token', request);
    expect(wrongKind.status).to.equal(400);
    expect(wrongKind.body.message).to.equal(
      'cannot bind token for serviceaccount "default" to object of type /v1, Kind=ConfigMap',
    );
  });

  it('kubectl create token --bound-object-kind Node: the node named in the token and in the user, as 1.32', async () => {
    const nodeUid = (await ok(['get', 'node', 'e2e-2', '-o', 'jsonpath={.metadata.uid}'])).trim();
    const token = (
      await ok(['create', 'token', 'default', '--bound-object-kind', 'Node', '--bound-object-name', 'e2e-2'])
    ).trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims['kubernetes.io'].node).to.deep.equal({ name: 'e2e-2', uid: nodeUid });
    const review = await post(
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
      },
      token,
    );
    expect(review.status, JSON.stringify(review.body)).to.equal(201);
    expect(review.body.status.userInfo.extra).to.deep.include({
      'authentication.kubernetes.io/node-name': ['e2e-2'],
      'authentication.kubernetes.io/node-uid': [nodeUid],
    });
    // A token bound to a pod names the pod's node too.
    const podToken = (
      await ok(['create', 'token', 'default', '--bound-object-kind', 'Pod', '--bound-object-name', 'web'])
    ).trim();
    const podClaims = JSON.parse(Buffer.from(podToken.split('.')[1]!, 'base64url').toString());
    const e2e1 = (await ok(['get', 'node', 'e2e-1', '-o', 'jsonpath={.metadata.uid}'])).trim();
    expect(podClaims['kubernetes.io'].node).to.deep.equal({ name: 'e2e-1', uid: e2e1 });
  });

  it('kubectl get shows CrashLoopBackOff, Completed and Error as upstream', async () => {
    for (const [name, exit, policy] of [
      ['crash', 1, 'Always'],
      ['done', 0, 'Never'],
      ['failed', 1, 'Never'],
    ] as const) {
      const overrides = JSON.stringify({ spec: { nodeName: 'e2e-2', restartPolicy: policy } });
      await ok([
        'run',
        name,
        '--image=node',
        `--restart=${policy}`,
        `--overrides=${overrides}`,
        '--command',
        '--',
        'node',
        '-e',
        `process.exit(${exit})`,
      ]);
    }
    await waitFor(
      'CrashLoopBackOff',
      () => podTable('crash'),
      (row) => row[2] === 'CrashLoopBackOff',
      20_000,
    );
    await waitFor(
      'Completed',
      () => podTable('done'),
      (row) => row[2] === 'Completed',
    );
    await waitFor(
      'Error',
      () => podTable('failed'),
      (row) => row[2] === 'Error',
    );
  });

  it('kubectl set image restarts the container (RESTARTS 1)', async () => {
    const before = await jsonpath('web', '.status.containerStatuses[0].containerID');
    await ok(['set', 'image', 'pod/web', 'web=node:20']);
    await waitFor(
      'restart',
      () => jsonpath('web', '.status.containerStatuses[0].restartCount'),
      (n) => n === '1',
    );
    expect(await jsonpath('web', '.status.containerStatuses[0].containerID')).to.not.equal(before);
  });

  it('runs the static pod from --pod-manifest-path on each node; a deleted mirror pod comes back', async () => {
    await waitFor(
      'static mirror pods',
      () => kubectl(['get', 'pods', '--no-headers']),
      (r) => /static-e2e-1 +1\/1 +Running/.test(r.stdout) && /static-e2e-2 +1\/1 +Running/.test(r.stdout),
    );
    const uid = await jsonpath('static-e2e-1', '.metadata.uid');
    await ok(['delete', 'pod', 'static-e2e-1', '--wait=false']);
    await waitFor(
      'the mirror pod again',
      () => kubectl(['get', 'pod', 'static-e2e-1', '-o', 'jsonpath={.metadata.uid}']),
      (r) => r.code === 0 && r.stdout !== '' && r.stdout !== uid,
    );
  });

  it('mounts a ConfigMap (kubectl create configmap) and gates Ready on an httpGet readiness probe', async () => {
    await ok(['create', 'configmap', 'site', '--from-literal=index.html=<h1>skiff</h1>']);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'site' },
      spec: {
        nodeName: 'e2e-2',
        terminationGracePeriodSeconds: 1,
        volumes: [{ name: 'html', configMap: { name: 'site' } }],
        containers: [
          {
            name: 'web',
            image: 'nginx',
            volumeMounts: [{ name: 'html', mountPath: '/usr/share/nginx/html' }],
            readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 1 },
          },
        ],
      },
    };
    await ok(['apply', '-f', '-'], JSON.stringify(pod));
    await ok(['wait', '--for=condition=Ready', 'pod/site', '--timeout=30s']);
    const ip = await jsonpath('site', '.status.podIP');
    expect(await (await fetch(`http://${ip}/`)).text()).to.contain('<h1>skiff</h1>');
  });

  it('skiff kubelet in its own process: killed with -9 and started again, it adopts its running pod', async () => {
    const port = Number(new URL(/server: (\S+)/.exec(readFileSync(kubeconfig, 'utf8'))![1]!).port);
    const creds = new LocalPki(join(dir, 'data'), { ownsCA: false }).clientCredentials(nodeIdentity('ext'));
    const nodeKubeconfig = join(dir, 'ext.kubeconfig');
    writeFileSync(
      nodeKubeconfig,
      buildKubeconfig({
        server: `https://127.0.0.1:${port}`,
        caPem: creds.caPem,
        user: 'system:node:ext',
        clientCertPem: creds.certPem,
        clientKeyPem: creds.keyPem,
      }),
      { mode: 0o600 },
    );
    const args = [
      'kubelet',
      '--kubeconfig',
      nodeKubeconfig,
      '--config',
      configFile,
      '--root-dir',
      join(dir, 'ext-root'),
    ];
    const first = spawnSkiff(args);
    processes.push(first);
    await first.waitForLine('kubelet started', (l) => l.msg === 'kubelet started', 30_000);
    await ok([
      'run',
      'adoptee',
      '--image=node',
      '--overrides={"spec":{"nodeName":"ext","terminationGracePeriodSeconds":1}}',
      '--command',
      '--',
      'node',
      '-e',
      SERVER,
    ]);
    await ok(['wait', '--for=condition=Ready', 'pod/adoptee', '--timeout=30s']);
    const id = await jsonpath('adoptee', '.status.containerStatuses[0].containerID');
    first.child.kill('SIGKILL');
    await first.exited();
    const ip = await jsonpath('adoptee', '.status.podIP');
    expect(await (await fetch(`http://${ip}:8080/`)).text(), 'the pod outlives its kubelet').to.equal(
      'hello from adoptee',
    );
    const second = spawnSkiff(args);
    processes.push(second);
    const started = await second.waitForLine('kubelet started', (l) => l.msg === 'kubelet started', 30_000);
    expect(started.adopted).to.equal(1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await jsonpath('adoptee', '.status.containerStatuses[0].containerID')).to.equal(id);
    expect(await jsonpath('adoptee', '.status.containerStatuses[0].restartCount')).to.equal('0');
    second.child.kill('SIGTERM');
    expect(await second.exited(20_000)).to.equal(0);
  });

  it('stops on SIGTERM with its pods, leaving no process, namespace, link, route or cgroup', async () => {
    up.child.kill('SIGTERM');
    expect(await up.exited(30_000)).to.equal(0);
    expect(leftovers(runtime.prefix, runtime.clusterCIDR)).to.deep.equal([]);
    expect(processesOf(dir)).to.deep.equal([]);
    expect(readFileSync('/proc/mounts', 'utf8')).to.not.contain(dir);
  });
});
