/**
 * The replication, deployment and garbage-collector controllers in `skiff controller-manager`, a
 * process of its own talking HTTPS to `skiff apiserver` with the controller manager's certificate:
 * upstream's bootstrap roles are all it is allowed, and the collector finds every kind through
 * discovery. `--controllers` takes upstream's names.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { KubeObject } from '../../core/api/types.js';
import { CONTROLLER_MANAGER_IDENTITY } from '../../core/auth/pki.js';
import { fromKubeconfig, type HttpsClient } from '../../core/client/https-client.js';
import { CORE_V1 } from '../../core/client/types.js';
import { buildKubeconfig } from '../../plugins/pki-local/kubeconfig.js';
import { LocalPki } from '../../plugins/pki-local/local-pki.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';
import { waitFor } from '../helpers/wait.js';

const RCS = CORE_V1('replicationcontrollers');
const PODS = CORE_V1('pods');
const DEPLOYMENTS = { group: 'apps', version: 'v1', resource: 'deployments' };
const REPLICA_SETS = { group: 'apps', version: 'v1', resource: 'replicasets' };

describe('e2e: replication, deployment and garbage collection in skiff controller-manager', function () {
  this.timeout(120_000);
  let dir: string;
  let admin: HttpsClient;
  const processes: SkiffProcess[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-cm-workloads-'));
    const apiserver = spawnSkiff(['apiserver', '--data-dir', dir, '--secure-port', 'auto', '--log-level', 'info']);
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
      '--kubeconfig',
      kubeconfig,
      '--data-dir',
      dir,
      '--leader-elect=false',
      '--controllers=replicationcontroller-controller,replicaset,deployment-controller,garbage-collector-controller',
      '--concurrent-rc-syncs=2',
      '--concurrent-gc-syncs=4',
    ]);
    processes.push(cm);
    const started = await cm.waitForLine('controllers started', (l) => l.msg === 'controllers started');
    expect(started.controllers).to.have.members([
      'replicationcontroller',
      'replicaset',
      'deployment',
      'garbagecollector',
    ]);
  });
  after(() => {
    admin?.close();
    killAll(processes);
    rmSync(dir, { recursive: true, force: true });
  });

  const podsOf = async (app: string) =>
    (await admin.list(PODS, 'default', { labelSelector: `app=${app}` })).items.filter(
      (p) => !p.metadata.deletionTimestamp,
    );

  it('keeps an RC at 3 pods, and its background deletion takes the pods', async () => {
    const labels = { app: 'cm-rc' };
    await admin.create(RCS, 'default', {
      metadata: { name: 'cm-rc' },
      spec: {
        replicas: 3,
        selector: labels,
        template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    } as KubeObject);
    await waitFor(
      '3 pods',
      () => podsOf('cm-rc'),
      (p) => p.length === 3,
      20_000,
    );
    await admin.delete(RCS, 'default', 'cm-rc', { propagationPolicy: 'Background' });
    await waitFor(
      'pods gone',
      () => podsOf('cm-rc'),
      (p) => p.length === 0,
      20_000,
    );
  });

  it('rolls a Deployment out to a ReplicaSet with its pods', async () => {
    const labels = { app: 'cm-deploy' };
    await admin.create(DEPLOYMENTS, 'default', {
      metadata: { name: 'cm-deploy' },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    } as KubeObject);
    const sets = await waitFor(
      'a ReplicaSet',
      async () => (await admin.list(REPLICA_SETS, 'default', { labelSelector: 'app=cm-deploy' })).items,
      (l) => l.length === 1,
      20_000,
    );
    expect(sets[0]!.metadata.ownerReferences?.[0]).to.include({
      kind: 'Deployment',
      name: 'cm-deploy',
      controller: true,
    });
    await waitFor(
      '2 pods',
      () => podsOf('cm-deploy'),
      (p) => p.length === 2,
      20_000,
    );
  });
});
