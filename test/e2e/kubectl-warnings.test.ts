/**
 * kubectl shows the server's Warning headers as "Warning: <text>" lines on stderr, as against a real
 * 1.32 cluster: a manifest from an older book with a deprecated volume type and node label, and a
 * kind served in a deprecated API version. kubectl 1.20 prints them the same way.
 */
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { kubectl, kubectl120Path, kubectlPath } from '../helpers/kubectl.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { NO_KUBECTL_120, skipBecause } from '../helpers/skip.js';

const FIXTURE = fileURLToPath(new URL('../core/server/deprecated-kind.fixture.ts', import.meta.url));

const OLD_BOOK_POD = `
apiVersion: v1
kind: Pod
metadata:
  name: from-the-book
spec:
  nodeSelector:
    beta.kubernetes.io/os: linux
  containers:
  - name: web
    image: nginx:1.25
    volumeMounts:
    - name: site
      mountPath: /usr/share/nginx/html
  volumes:
  - name: site
    gitRepo:
      repository: https://example.com/site.git
`;

describe('e2e: kubectl prints the server warnings', function () {
  this.timeout(120_000);
  let ts: TestServer;

  before(async function () {
    if (!kubectlPath) {
      console.warn('    SKIPPED: kubectl is not installed on this machine (.ci/run installs it)');
      this.skip();
    }
    ts = await startTestServer({ plugins: { 'test-deprecated-kind': { path: FIXTURE } } });
  });
  after(async () => ts?.close());

  it('kubectl apply of a pod with a gitRepo volume and a beta node label warns about both', async () => {
    const r = await kubectl(ts.url, ['apply', '-f', '-'], OLD_BOOK_POD);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('pod/from-the-book created');
    expect(r.stderr.split('\n')).to.include.members([
      'Warning: spec.nodeSelector[beta.kubernetes.io/os]: deprecated since v1.14; use "kubernetes.io/os" instead',
      'Warning: spec.volumes[0].gitRepo: deprecated in v1.11',
    ]);
  });

  it('kubectl get of a kind in a deprecated version prints upstream deprecation line', async () => {
    const r = await kubectl(ts.url, ['get', 'widgets.v1beta1.widgets.example.com', '-A']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(
      'Warning: widgets.example.com/v1beta1 Widget is deprecated in v1.16+, unavailable in v1.40+; use widgets.example.com/v1 Widget',
    );
  });

  it('kubectl 1.20 prints the same warning lines', async function () {
    if (!kubectl120Path) skipBecause(this, NO_KUBECTL_120);
    const r = await kubectl(
      ts.url,
      ['create', '-f', '-'],
      OLD_BOOK_POD.replace('from-the-book', 'older-still'),
      kubectl120Path,
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain('Warning: spec.volumes[0].gitRepo: deprecated in v1.11');
  });
});
