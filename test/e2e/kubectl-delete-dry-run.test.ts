/**
 * `kubectl delete --dry-run=server` deletes nothing: kubectl puts `dryRun: ["All"]` in the
 * DeleteOptions body (not in the query), and the server reads the body, as upstream's handler does.
 */
import { expect } from 'chai';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const CMS = '/api/v1/namespaces/default/configmaps';

describe('e2e: kubectl delete --dry-run=server', function () {
  this.timeout(120_000);
  let ts: TestServer;

  before(async function () {
    if (!kubectlPath) {
      console.warn('    SKIPPED: kubectl is not installed on this machine (.ci/run installs it)');
      this.skip();
    }
    ts = await startTestServer();
    for (const name of ['kept', 'kept-a', 'kept-b']) {
      const r = await api(ts.url, 'POST', CMS, {
        metadata: { name, labels: { batch: name.startsWith('kept-') ? 'y' : 'n' } },
      });
      expect(r.status).to.equal(201);
    }
  });
  after(async () => ts?.close());

  const exists = async (name: string) => (await api(ts.url, 'GET', `${CMS}/${name}`)).status === 200;

  it('one object: kubectl reports it deleted (server dry run), and it is still there', async () => {
    const r = await kubectl(ts.url, ['delete', 'configmap', 'kept', '--dry-run=server']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('configmap "kept" deleted (server dry run)');
    expect(await exists('kept')).to.equal(true);
  });

  it('by label selector: both reported, both still there; without --dry-run they go', async () => {
    const dry = await kubectl(ts.url, ['delete', 'configmaps', '-l', 'batch=y', '--dry-run=server']);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.contain('kept-a').and.contain('kept-b');
    expect(await exists('kept-a')).to.equal(true);
    expect(await exists('kept-b')).to.equal(true);
    const real = await kubectl(ts.url, ['delete', 'configmaps', '-l', 'batch=y']);
    expect(real.code, real.stderr).to.equal(0);
    expect(await exists('kept-a')).to.equal(false);
    expect(await exists('kept')).to.equal(true);
  });
});
