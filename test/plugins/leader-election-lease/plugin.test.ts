/**
 * leader-election-lease as a plugin: it provides LEADER_ELECTION, which the controller manager uses
 * for --leader-elect; `skiff controller-manager` sets it up beside the controller plugins. Without
 * it, asking for leader election stops start-up with SKIFF_PLUGIN_MISSING_PROVIDER, telling to
 * enable the plugin or pass --leader-elect=false — in the server, in the ControllerManager, and in
 * the `skiff controller-manager` process (which exits before it waits for any API server).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { LEADER_ELECTION } from '../../../core/client/leader-election.js';
import { loadConfig, loadConfigFromObject } from '../../../core/config/load.js';
import { explainMissingProvider } from '../../../core/config/manifests.js';
import { selectedPlugins } from '../../../core/sdk/component.js';
import { SkiffError } from '../../../core/sdk/index.js';
import { createServer } from '../../../core/server/server.js';
import { ControllerManager } from '../../../plugins/controller-manager/manager.js';
import { controllerPlugins } from '../../../plugins/controller-manager/selection.js';
import { LEASES } from '../../../plugins/leader-election-lease/lease.js';
import { FAST } from '../../helpers/leader-election.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../../helpers/skiff-process.js';

const silent = pino({ level: 'silent' });

function expectMissingProvider(err: unknown): void {
  expect(err).to.be.instanceOf(SkiffError);
  const e = err as SkiffError;
  expect(e.code).to.equal('SKIFF_PLUGIN_MISSING_PROVIDER');
  expect(e.message).to.equal('--leader-elect is on, but no enabled plugin provides leader-election');
  expect(e.fix).to.equal('enable leader-election-lease under plugins in the config file, or pass --leader-elect=false');
}

describe('plugins/leader-election-lease', function () {
  this.timeout(30_000);

  it('provides LEADER_ELECTION: an elector campaigning for a Lease, refusing bad options at once', async () => {
    const s = await startTestServer({ plugins: { 'leader-election-lease': {} } });
    try {
      const electors = s.server.use(LEADER_ELECTION);
      const elector = electors.elector({ client: s.server.client(), logger: silent, name: 'probe', ...FAST });
      expect(elector.identity).to.match(/_[0-9a-f-]{36}$/);
      expect(elector.isLeader()).to.equal(false);
      expect(() => electors.elector({ client: s.server.client(), logger: silent, name: '' }))
        .to.throw(SkiffError)
        .with.property('code', 'SKIFF_LEADER_ELECTION_CONFIG');
    } finally {
      await s.close();
    }
  });

  it('`skiff controller-manager` sets it up from the default config beside the controller plugins', async () => {
    const names = selectedPlugins(await loadConfig(undefined), controllerPlugins).plugins.map((p) => p.name);
    expect(names).to.include('leader-election-lease');
  });

  describe('without it', () => {
    it('a ControllerManager asked for leader election refuses to be built', async () => {
      const make = () =>
        new ControllerManager({ controllers: async () => [] }, silent, () => ({}) as never, {
          leaderElection: { name: 'x' },
        });
      let err: unknown;
      try {
        make();
      } catch (e) {
        err = e;
      }
      // Built directly (no CLI, no server): the fix names the plugin once the manifests are asked.
      expect((err as SkiffError).fix).to.contain('enable a plugin that provides leader-election');
      expectMissingProvider(await explainMissingProvider(err));
    });

    it('a server whose controller-manager is asked for leader election does not start', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'skiff-le-'));
      try {
        const config = await loadConfigFromObject(
          {
            server: { dataDir, insecurePort: 'auto', securePort: 0, storageBackend: 'memory' },
            plugins: {
              'storage-memory': {},
              'api-core-v1': {},
              'api-coordination-v1': {},
              'controller-manager': { config: { leaderElect: true, resourceName: 'x' } },
            },
          },
          '(test)',
        );
        const err = await createServer({ config, role: 'up', logger: silent }).catch((e: unknown) => e);
        expectMissingProvider(err);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    describe('skiff controller-manager', () => {
      let ts: TestServer;
      let config: string;
      const processes: SkiffProcess[] = [];
      before(async () => {
        ts = await startTestServer({ secure: true, plugins: { 'authn-x509': {} } });
        config = join(ts.dataDir, 'no-leader-election.yaml');
        // pki-local: the controller manager finds its client certificate in the data directory.
        writeFileSync(
          config,
          'plugins:\n  storage-memory: {}\n  api-core-v1: {}\n  pki-local: {}\n  controller-namespace: {}\n',
        );
      });
      after(async () => {
        killAll(processes);
        await ts.close();
      });
      const start = (...flags: string[]) => {
        const p = spawnSkiff([
          'controller-manager',
          ...['--config', config, '--data-dir', ts.dataDir, '--master', ts.secureUrl!],
          ...flags,
        ]);
        processes.push(p);
        return p;
      };

      it('with --leader-elect (the default) exits at once with the coded error and its fix', async () => {
        const p = start();
        expect(await p.exited(20_000), p.output()).to.equal(2);
        expect(p.output()).to.contain('SKIFF_PLUGIN_MISSING_PROVIDER').and.contain('--leader-elect=false');
        expect(p.output()).to.not.contain('connected to the API server');
      });

      it('with --leader-elect=false runs the controllers without a lease', async () => {
        const p = start('--leader-elect=false');
        const started = await p.waitForLine('controllers started', (l) => l.msg === 'controllers started', 20_000);
        expect(started.controllers).to.deep.equal(['namespace']);
        const lease = await ts.server
          .client()
          .get(LEASES, 'kube-system', 'kube-controller-manager')
          .catch((e: { code: number }) => e.code);
        expect(lease).to.equal(404);
      });
    });
  });
});
