/** kubectl 1.20 (Debian's kubernetes-client, unpacked aside by .ci/run) against a real server on loopback. */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { kubectl, kubectl120Path, kubectlStream } from '../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

describe('e2e: kubectl 1.20', function () {
  this.timeout(120_000);
  let ts: TestServer;

  before(async function () {
    if (!kubectl120Path) {
      console.warn('    SKIPPED: kubectl 1.20 is not unpacked in .cache/kubectl-1.20 (bash .ci/run does it)');
      this.skip();
    }
    ts = await startTestServer({ storage: 'sqlite' });
  });
  after(async () => ts?.close());

  async function ok(args: string[], input?: string): Promise<string> {
    const r = await kubectl(ts.url, args, input, kubectl120Path);
    expect(r.code, `kubectl 1.20 ${args.join(' ')}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  }

  it('is really 1.20', async () => {
    expect(await ok(['version', '--client', '--short'])).to.contain('v1.20');
  });

  it('create -f, get, apply -f twice, get -w and delete', async () => {
    expect(await ok(['create', '-f', fixture('pod.yaml')])).to.contain('pod/web created');
    expect(await ok(['get', 'pods'])).to.match(/^web\s/m);
    expect(await ok(['apply', '-f', fixture('rc.yaml')])).to.contain('replicationcontroller/myweb created');
    const changed = readFileSync(fixture('rc.yaml'), 'utf8').replace('tomcat-app:v1', 'tomcat-app:v2');
    expect(await ok(['apply', '-f', '-'], changed)).to.contain('replicationcontroller/myweb configured');
    const rc = JSON.parse(await ok(['get', 'rc', 'myweb', '-o', 'json']));
    expect(rc.spec.template.spec.containers[0].image).to.equal('kubeguide/tomcat-app:v2');

    const watch = kubectlStream(ts.url, ['get', 'pods', '-w', '--no-headers'], kubectl120Path);
    try {
      await watch.waitFor((l) => l.some((x) => x.startsWith('web ')));
      const before = watch.lines.length;
      expect(await ok(['delete', 'pod', 'web'])).to.contain('pod "web" deleted');
      await watch.waitFor((l) => l.length > before);
    } finally {
      watch.stop();
    }
    expect((await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/web')).status).to.equal(404);
  });
});
