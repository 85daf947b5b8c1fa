/**
 * `skiff scheduler` as real processes beside `skiff apiserver`: over HTTPS with the scheduler's
 * own client certificate (system:kube-scheduler, from the PKI in the data directory), two
 * schedulers elect a leader on the kube-system/kube-scheduler Lease, only the leader binds, and
 * when it is killed with SIGKILL the other takes over within the lease duration and goes on
 * binding. A SIGTERM stops a scheduler gracefully (exit 0). A third, from a KubeSchedulerConfiguration
 * file (--config), a kubeconfig written by `skiff kubeconfig` (--kubeconfig) and a Skiff config
 * loading a third-party scheduler plugin by path (--skiff-config), schedules only its own
 * profile's pods, with that plugin, on the lease its file names, the --leader-elect-* flags
 * overriding the file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { KubeObject } from '../../core/api/types.js';
import { fromKubeconfig, type HttpsClient } from '../../core/client/https-client.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';
import { waitFor } from '../helpers/wait.js';

const PODS = { group: '', version: 'v1', resource: 'pods' };
const NODES = { group: '', version: 'v1', resource: 'nodes' };
const LEASES = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };
const LEASE_SECONDS = 3;
const SHORT_LEASE = [
  '--leader-elect-lease-duration',
  `${LEASE_SECONDS}s`,
  '--leader-elect-renew-deadline',
  '2s',
  '--leader-elect-retry-period',
  '300ms',
];

const node = (name: string) =>
  ({ metadata: { name }, status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' } } }) as unknown as KubeObject;
const pod = (name: string, schedulerName?: string) =>
  ({
    metadata: { name },
    spec: { ...(schedulerName ? { schedulerName } : {}), containers: [{ name: 'c', image: 'nginx' }] },
  }) as unknown as KubeObject;

/** A KubeSchedulerConfiguration as upstream writes one: its own profile and its own lease. */
const BATCH_CONFIG = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: true
  resourceName: batch-scheduler
  leaseDuration: 30s
  renewDeadline: 20s
  retryPeriod: 5s
profiles:
- schedulerName: batch
  plugins:
    multiPoint:
      enabled: [{name: PreferLabel, weight: 50}]
  pluginConfig:
  - name: PreferLabel
    args: {label: fast}
`;

/** The Skiff config `skiff scheduler --skiff-config` reads: a third-party scheduler plugin by path. */
const skiffConfig = (dataDir: string) => `server:
  dataDir: ${JSON.stringify(dataDir)}
plugins:
  pki-local: {}
  leader-election-lease: {}
  scheduler-prefer-label:
    path: ${JSON.stringify(new URL('../fixtures/plugins/scheduler-prefer-label', import.meta.url).pathname)}
`;

describe('e2e: skiff scheduler as its own process, with leader election', function () {
  this.timeout(120_000);
  let dir: string;
  let admin: HttpsClient;
  const processes: SkiffProcess[] = [];

  const scheduler = (name: string) => {
    const p = spawnSkiff(['scheduler', '--data-dir', dir, '--port', '0', ...SHORT_LEASE, '--log-level', 'info']);
    processes.push(p);
    (p as SkiffProcess & { name: string }).name = name;
    return p;
  };
  const boundTo = async (name: string) => (await admin.get(PODS, 'default', name)).spec as { nodeName?: string };
  const holder = async () =>
    ((await admin.get(LEASES, 'kube-system', 'kube-scheduler')).spec as { holderIdentity?: string }).holderIdentity ??
    '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-sched-e2e-'));
    const apiserver = spawnSkiff(['apiserver', '--data-dir', dir, '--secure-port', 'auto', '--log-level', 'info']);
    processes.push(apiserver);
    await apiserver.waitForLine('ready', (l) => l.msg === 'ready');
    admin = fromKubeconfig(join(dir, 'kubeconfig'));
    await admin.create(NODES, '', node('n1'));
  });

  after(() => {
    admin?.close();
    killAll(processes);
    rmSync(dir, { recursive: true, force: true });
  });

  it('two schedulers: one leads and binds; kill -9 the leader and the other takes over within the lease', async () => {
    const a = scheduler('a');
    const leaderLine = await a.waitForLine('a leading', (l) => l.msg === 'leading: scheduling pods');
    const b = scheduler('b');
    await b.waitForLine('b connected', (l) => l.msg === 'attempting to acquire the leader lease');
    expect(await holder()).to.equal(leaderLine.identity);
    await admin.create(PODS, 'default', pod('before'));
    await waitFor(
      'the pod bound by the leader',
      () => boundTo('before'),
      (s) => s.nodeName === 'n1',
      15_000,
    );
    expect(
      b.lines.some((l) => l.msg === 'leading: scheduling pods'),
      'the standby must not lead',
    ).to.equal(false);

    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    const took = await b.waitForLine('b leading', (l) => l.msg === 'leading: scheduling pods', 20_000);
    const seconds = (Number(took.time) - killedAt) / 1000;
    // Expiry is judged from when b last saw the lease change: at most a lease duration plus a retry or two.
    expect(seconds).to.be.below(LEASE_SECONDS + 2);
    expect(await holder()).to.equal(took.identity);
    await admin.create(PODS, 'default', pod('after'));
    await waitFor(
      'the pod bound by the new leader',
      () => boundTo('after'),
      (s) => s.nodeName === 'n1',
      15_000,
    );
  });

  it('--config, --kubeconfig, --skiff-config: its own profile and lease, a plugin by path; flags override the file', async () => {
    const config = join(dir, 'batch-scheduler.yaml');
    writeFileSync(config, BATCH_CONFIG);
    const kubeconfig = join(dir, 'scheduler.kubeconfig');
    execFileSync(process.execPath, [
      new URL('../../scripts/skiff.mjs', import.meta.url).pathname,
      'kubeconfig',
      '--user',
      'system:kube-scheduler',
      '--data-dir',
      dir,
      '--out',
      kubeconfig,
    ]);
    const skiffFile = join(dir, 'skiff.yaml');
    writeFileSync(skiffFile, skiffConfig(dir));
    // Smaller than n1, so the default scores alone would pick n1.
    const small = {
      metadata: { name: 'n2', labels: { fast: '' } },
      status: { capacity: { cpu: '1', memory: '1Gi', pods: '10' } },
    };
    await admin.create(NODES, '', small as unknown as KubeObject);
    const batch = spawnSkiff([
      'scheduler',
      '--skiff-config',
      skiffFile,
      '--config',
      config,
      '--kubeconfig',
      kubeconfig,
      '--port',
      '0',
      '--leader-elect-retry-period',
      '300ms',
      '--leader-elect-lease-duration',
      '25s',
    ]);
    processes.push(batch);
    const started = await batch.waitForLine('batch started', (l) => l.msg === 'scheduler started');
    expect(started.profiles).to.deep.equal(['batch']);
    const leading = await batch.waitForLine('batch leading', (l) => l.msg === 'leading: scheduling pods');
    const lease = await admin.get(LEASES, 'kube-system', 'batch-scheduler');
    // The file's name and namespace, the flag's duration (the file says 30s).
    expect(lease.spec).to.deep.include({ holderIdentity: leading.identity, leaseDurationSeconds: 25 });
    await admin.create(PODS, 'default', pod('batch-job', 'batch'));
    // PreferLabel, a third-party plugin the Skiff config loads by path, sends it to the fast node.
    await waitFor(
      'the batch pod bound by the batch scheduler',
      () => boundTo('batch-job'),
      (s) => s.nodeName === 'n2',
      15_000,
    );
    batch.child.kill('SIGTERM');
    expect(await batch.exited()).to.equal(0);
  });

  it('SIGTERM stops the scheduler gracefully and hands the lease over', async () => {
    const c = processes.find((p) => (p as SkiffProcess & { name?: string }).name === 'b')!;
    c.child.kill('SIGTERM');
    expect(await c.exited()).to.equal(0);
    await waitFor('the lease released', holder, (h) => h === '', 10_000);
  });
});
