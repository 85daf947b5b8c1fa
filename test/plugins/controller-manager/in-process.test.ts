/**
 * The plugin in `skiff up`: it runs the controller plugins' controllers in the API server's process
 * (left out, none runs), and with `leaderElect` in its config only while it holds the Lease.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { loadConfigFromObject } from '../../../core/config/load.js';
import { CORE_V1 } from '../../../core/sdk/index.js';
import { createServer, type SkiffServer } from '../../../core/server/server.js';
import { LEASES } from '../../../plugins/leader-election-lease/lease.js';
import { FAST, sleep } from '../../helpers/leader-election.js';
import { waitFor } from '../../helpers/wait.js';

const silent = pino({ level: process.env.SKIFF_TEST_LOG ?? 'silent' });

async function upServer(dataDir: string, manager: Record<string, unknown> | undefined): Promise<SkiffServer> {
  const config = await loadConfigFromObject(
    {
      server: { dataDir, insecurePort: 'auto', securePort: 0, storageBackend: 'memory', shutdownTimeoutSeconds: 5 },
      plugins: {
        'storage-memory': {},
        'api-core-v1': {},
        'api-coordination-v1': {},
        'authz-bootstrap-roles': {},
        'leader-election-lease': {},
        ...(manager ? { 'controller-manager': manager } : {}),
        'controller-service-account': {},
      },
    },
    '(test)',
  );
  const server = await createServer({ config, role: 'up', logger: silent });
  await server.listen();
  return server;
}

const defaultServiceAccount = (s: SkiffServer, ns: string) =>
  s
    .client()
    .get(CORE_V1('serviceaccounts'), ns, 'default')
    .then(
      () => true,
      () => false,
    );

describe('plugins/controller-manager in skiff up', function () {
  this.timeout(20_000);
  let dataDir: string;
  let server: SkiffServer | undefined;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'skiff-cm-'));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('with leaderElect, runs the controllers while holding the kube-controller-manager Lease', async () => {
    server = await upServer(dataDir, { config: { leaderElect: true, ...FAST, identity: 'cm-a' } });
    const lease = await waitFor(
      'the Lease',
      () =>
        server!
          .client()
          .get(LEASES, 'kube-system', 'kube-controller-manager')
          .catch(() => undefined),
      (l) => Boolean(l),
    );
    expect((lease as unknown as { spec: { holderIdentity: string } }).spec.holderIdentity).to.equal('cm-a');
    await server.client().create(CORE_V1('namespaces'), '', { metadata: { name: 'team-a' } });
    expect(
      await waitFor('the default ServiceAccount', () => defaultServiceAccount(server!, 'team-a'), Boolean),
    ).to.equal(true);
  });

  it('left out of the config, no controller runs', async () => {
    server = await upServer(dataDir, undefined);
    await server.client().create(CORE_V1('namespaces'), '', { metadata: { name: 'team-b' } });
    await sleep(1_000);
    expect(await defaultServiceAccount(server, 'team-b')).to.equal(false);
  });
});
