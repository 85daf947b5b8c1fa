/**
 * `skiff apiserver` and `skiff controller-manager` as two real processes on loopback: the API server
 * alone runs no controllers; with the controller manager beside it (over HTTPS, with its own client
 * certificate) new namespaces get their default ServiceAccount and deleted ones are emptied; the
 * API server's audit log shows who did it; the controller manager rides out an API server restart
 * and stops on SIGTERM with exit 0.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { KubeObject } from '../../core/api/types.js';
import { CONTROLLER_MANAGER_IDENTITY } from '../../core/auth/pki.js';
import { fromKubeconfig, type HttpsClient } from '../../core/client/https-client.js';
import { CORE_V1 } from '../../core/client/types.js';
import { isStatusError } from '../../core/errors.js';
import { createCertificateAuthority, issueCertificate } from '../../plugins/pki-local/certificates.js';
import { buildKubeconfig } from '../../plugins/pki-local/kubeconfig.js';
import { LocalPki } from '../../plugins/pki-local/local-pki.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';
import { waitFor } from '../helpers/wait.js';

const NAMESPACES = CORE_V1('namespaces');
const SERVICE_ACCOUNTS = CORE_V1('serviceaccounts');
const CONFIGMAPS = CORE_V1('configmaps');
const LEASES = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };
const SHORT_LEASE = [
  '--leader-elect-lease-duration',
  '2s',
  '--leader-elect-renew-deadline',
  '1500ms',
  '--leader-elect-retry-period',
  '300ms',
];

async function exists(client: HttpsClient, ref: typeof NAMESPACES, namespace: string, name: string) {
  try {
    await client.get(ref, namespace, name);
    return true;
  } catch (err) {
    if (isStatusError(err) && err.code === 404) return false;
    throw err;
  }
}

const createNamespace = (admin: HttpsClient, name: string) =>
  admin.create(NAMESPACES, '', { metadata: { name } } as KubeObject);

describe('e2e: skiff controller-manager as its own process', function () {
  this.timeout(120_000);
  let dir: string;
  let admin: HttpsClient;
  let port: number;
  let cmKubeconfig: string;
  let apiserver: SkiffProcess;
  let cm: SkiffProcess;
  const processes: SkiffProcess[] = [];

  async function startApiserver(securePort: string): Promise<SkiffProcess> {
    const p = spawnSkiff([
      'apiserver',
      '--data-dir',
      dir,
      '--secure-port',
      securePort,
      '--audit-log-path',
      join(dir, 'audit.log'),
      '--log-level',
      'info',
    ]);
    processes.push(p);
    const serving = await p.waitForLine('HTTPS', (l) =>
      /serving HTTPS on https:\/\/127\.0\.0\.1:\d+/.test(String(l.msg)),
    );
    port = Number(/:(\d+)$/.exec(String(serving.msg))![1]);
    await p.waitForLine('ready', (l) => l.msg === 'ready');
    return p;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-cm-e2e-'));
    apiserver = await startApiserver('auto');
    admin = fromKubeconfig(join(dir, 'kubeconfig'));
    // What an operator would do: a kubeconfig for the controller manager from its certificate.
    const { caPem, ...pair } = new LocalPki(dir, { ownsCA: false }).clientCredentials(CONTROLLER_MANAGER_IDENTITY);
    cmKubeconfig = join(dir, 'controller-manager.kubeconfig');
    const yaml = buildKubeconfig({
      server: `https://127.0.0.1:${port}`,
      caPem,
      user: 'system:kube-controller-manager',
      clientCertPem: pair.certPem,
      clientKeyPem: pair.keyPem,
    });
    writeFileSync(cmKubeconfig, yaml, { mode: 0o600 });
  });

  after(() => {
    admin?.close();
    killAll(processes);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the API server alone gives a new namespace no default ServiceAccount', async () => {
    await createNamespace(admin, 'solo');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await exists(admin, SERVICE_ACCOUNTS, 'solo', 'default')).to.equal(false);
  });

  it('with the controller manager running, namespaces get their default ServiceAccount', async () => {
    cm = spawnSkiff(['controller-manager', '--kubeconfig', cmKubeconfig, '--data-dir', dir, '--log-level', 'info']);
    processes.push(cm);
    const started = await cm.waitForLine('controllers started', (l) => l.msg === 'controllers started');
    expect(started.controllers).to.include.members(['namespace', 'serviceaccount', 'resourcequota']);
    await waitFor(
      'the account in the namespace made before',
      () => exists(admin, SERVICE_ACCOUNTS, 'solo', 'default'),
      (v) => v,
      15_000,
    );
    await createNamespace(admin, 'team');
    await waitFor(
      'the account in a new namespace',
      () => exists(admin, SERVICE_ACCOUNTS, 'team', 'default'),
      (v) => v,
    );
  });

  it('deleting a namespace with a configmap in it ends with both gone', async () => {
    await createNamespace(admin, 'doomed');
    await admin.create(CONFIGMAPS, 'doomed', { metadata: { name: 'settings' }, data: { a: '1' } } as KubeObject);
    await admin.delete(NAMESPACES, '', 'doomed');
    await waitFor(
      'the namespace and its configmap to go',
      async () => [
        await exists(admin, CONFIGMAPS, 'doomed', 'settings'),
        await exists(admin, NAMESPACES, '', 'doomed'),
      ],
      (v) => !v[0] && !v[1],
      20_000,
    );
  });

  it('acts as system:kube-controller-manager: its whoami at start, and the audit log', async () => {
    const connected = await cm.waitForLine('connected', (l) => l.msg === 'connected to the API server');
    expect(connected.user).to.equal('system:kube-controller-manager');
    const audit = join(dir, 'audit.log');
    const creates = await waitFor(
      'the audit event of the account create',
      async () =>
        existsSync(audit)
          ? readFileSync(audit, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l))
              .filter(
                (e) =>
                  e.verb === 'create' &&
                  e.objectRef?.resource === 'serviceaccounts' &&
                  e.objectRef?.namespace === 'team',
              )
          : [],
      (v) => v.length > 0,
    );
    expect(creates[0].user.username).to.equal('system:kube-controller-manager');
    expect(creates[0].userAgent).to.equal('skiff-controller-manager/serviceaccount');
  });

  it('rides out an API server restart', async () => {
    apiserver.child.kill('SIGTERM');
    expect(await apiserver.exited()).to.equal(0);
    apiserver = await startApiserver(String(port));
    await createNamespace(admin, 'after-restart');
    await waitFor(
      'the account in a namespace made after the restart',
      () => exists(admin, SERVICE_ACCOUNTS, 'after-restart', 'default'),
      (v) => v,
      20_000,
    );
  });

  it('credentials the API server does not trust stop start-up with a coded error (exit 2)', async () => {
    const stranger = issueCertificate(createCertificateAuthority('other-ca'), {
      commonName: 'system:kube-controller-manager',
      usage: 'client',
    });
    const file = join(dir, 'stranger.kubeconfig');
    const ca = readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8');
    writeFileSync(
      file,
      buildKubeconfig({
        server: `https://127.0.0.1:${port}`,
        caPem: ca,
        user: 'stranger',
        clientCertPem: stranger.certPem,
        clientKeyPem: stranger.keyPem,
      }),
    );
    const refused = spawnSkiff(['controller-manager', '--kubeconfig', file, '--data-dir', dir]);
    processes.push(refused);
    expect(await refused.exited(), refused.output()).to.equal(2);
    expect(refused.output()).to.contain('SKIFF_CONTROLLER_MANAGER_UNAUTHORIZED').and.contain('fix:');
  });

  it('publishes kube-root-ca.crt with the CA its kubeconfig trusts', async () => {
    const ca = readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8');
    const cm = await waitFor(
      'kube-root-ca.crt in team',
      () => admin.get(CONFIGMAPS, 'team', 'kube-root-ca.crt').catch(() => undefined),
      (v) => v !== undefined,
    );
    expect((cm!.data as Record<string, string>)['ca.crt']).to.equal(ca);
  });

  it('SIGTERM stops the controller manager with exit 0, releasing its lease', async () => {
    cm.child.kill('SIGTERM');
    expect(await cm.exited(15_000), cm.output()).to.equal(0);
    expect(cm.lines.some((l) => l.msg === 'stopped')).to.equal(true);
    const lease = await admin.get(LEASES, 'kube-system', 'kube-controller-manager');
    expect((lease.spec as { holderIdentity?: string }).holderIdentity ?? '', cm.output()).to.equal('');
  });

  it('with two controller managers one leads; killing it (-9) hands over within the lease duration', async () => {
    const start = () => {
      const p = spawnSkiff(['controller-manager', '--kubeconfig', cmKubeconfig, '--data-dir', dir, ...SHORT_LEASE]);
      processes.push(p);
      return p;
    };
    const a = start();
    const b = start();
    const leading = (p: SkiffProcess) => p.lines.some((l) => String(l.msg).startsWith('leading'));
    const first = await waitFor(
      'a leader',
      async () => [leading(a), leading(b)],
      (v) => v[0] || v[1],
      20_000,
    );
    expect(first[0] && first[1], 'never two leaders').to.equal(false);
    const [leader, follower] = first[0] ? [a, b] : [b, a];
    const held = await admin.get(LEASES, 'kube-system', 'kube-controller-manager');
    const spec = held.spec as { holderIdentity: string; leaseDurationSeconds: number; leaseTransitions: number };
    expect(spec.leaseDurationSeconds).to.equal(2);
    const line = leader.lines.find((l) => String(l.msg).startsWith('leading'))!;
    expect(spec.holderIdentity).to.equal(line.identity);

    leader.child.kill('SIGKILL');
    const killedAt = Date.now();
    await follower.waitForLine('the follower to lead', (l) => String(l.msg).startsWith('leading'), 10_000);
    // Lease duration plus the acquire loop's jittered retry (at most 2.2 retry periods) and slack.
    expect(Date.now() - killedAt).to.be.below(2_000 + 2.2 * 300 + 1_000);
    const taken = await admin.get(LEASES, 'kube-system', 'kube-controller-manager');
    const next = taken.spec as { holderIdentity: string; leaseTransitions: number };
    expect(next.holderIdentity).to.not.equal(spec.holderIdentity);
    expect(next.leaseTransitions).to.equal(spec.leaseTransitions + 1);
    await createNamespace(admin, 'after-handover');
    await waitFor(
      'the new leader to run the controllers',
      () => exists(admin, SERVICE_ACCOUNTS, 'after-handover', 'default'),
      (v) => v,
    );
    follower.child.kill('SIGTERM');
    expect(await follower.exited()).to.equal(0);
  });
});
