/**
 * The real kubectl (1.32, via the machine's dispatcher) against a real server on loopback:
 * the commands a user of the seed's chapter runs.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { kubectl, kubectlPath, kubectlStream } from '../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

// `kubectl create configmap` sends protobuf (the wire-compatibility issue); create -f sends JSON.
const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  k: v\n`;
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

describe('e2e: kubectl', function () {
  this.timeout(120_000);
  let ts: TestServer;

  before(async function () {
    if (!kubectlPath) {
      console.warn('    SKIPPED: kubectl is not installed on this machine (.ci/run installs it)');
      this.skip();
    }
    ts = await startTestServer({ storage: 'sqlite' });
  });
  after(async () => ts?.close());

  async function ok(...args: string[]): Promise<string> {
    return okWith(undefined, ...args);
  }
  async function okWith(input: string | undefined, ...args: string[]): Promise<string> {
    const r = await kubectl(ts.url, args, input);
    expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  }

  it('reports the server version the dispatcher needs', async () => {
    const out = JSON.parse(await ok('version', '-o', 'json'));
    expect(out.serverVersion.major).to.equal('1');
    expect(out.serverVersion.minor).to.equal('32');
  });

  it('create -f creates a pod, and get / get -o json show it', async () => {
    expect(await ok('create', '-f', fixture('pod.yaml'))).to.contain('pod/web created');
    expect(await ok('get', 'pods')).to.match(/^web\s/m);
    const pod = JSON.parse(await ok('get', 'pod', 'web', '-o', 'json'));
    expect(pod.metadata.uid).to.be.a('string');
    expect(pod.spec.containers[0].image).to.equal('tomcat:9');
    expect(pod.spec.restartPolicy).to.equal('Always');
    const again = await kubectl(ts.url, ['create', '-f', fixture('pod.yaml')]);
    expect(again.code).to.not.equal(0);
    expect(again.stderr).to.contain('AlreadyExists');
  });

  it('apply -f twice: creates, then patches with a strategic merge patch', async () => {
    expect(await ok('apply', '-f', fixture('rc.yaml'))).to.contain('replicationcontroller/myweb created');
    const changed = readFileSync(fixture('rc.yaml'), 'utf8').replace('tomcat-app:v1', 'tomcat-app:v2');
    const r = await kubectl(ts.url, ['apply', '-f', '-'], changed);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('replicationcontroller/myweb configured');
    const rc = JSON.parse(await ok('get', 'rc', 'myweb', '-o', 'json'));
    expect(rc.spec.template.spec.containers).to.have.length(1);
    expect(rc.spec.template.spec.containers[0].image).to.equal('kubeguide/tomcat-app:v2');
    expect(rc.spec.template.spec.containers[0].env).to.deep.equal([{ name: 'MYSQL_SERVICE_HOST', value: 'mysql' }]);
    expect(rc.metadata.generation).to.equal(2);
  });

  it('label adds and removes labels', async () => {
    expect(await ok('label', 'pod', 'web', 'tier=frontend')).to.contain('pod/web labeled');
    expect(await ok('get', 'pods', '-l', 'tier=frontend', '-o', 'name')).to.equal('pod/web\n');
    await ok('label', 'pod', 'web', 'tier-');
    expect(await ok('get', 'pods', '-l', 'tier=frontend', '-o', 'name')).to.equal('');
  });

  it('scale rc patches the scale subresource', async () => {
    expect(await ok('scale', 'rc', 'myweb', '--replicas=3')).to.contain('replicationcontroller/myweb scaled');
    const rc = JSON.parse(await ok('get', 'rc', 'myweb', '-o', 'json'));
    expect(rc.spec.replicas).to.equal(3);
  });

  it('get -w sees ADDED, MODIFIED and DELETED', async () => {
    const w = kubectlStream(ts.url, [
      'get',
      'configmaps',
      '-w',
      '--output-watch-events',
      '-o',
      'custom-columns=EVENT:.type,NAME:.object.metadata.name',
      '--no-headers',
    ]);
    try {
      await okWith(configMap('watched'), 'create', '-f', '-');
      await w.waitFor((l) => l.some((x) => /ADDED\s+watched/.test(x)));
      await ok('label', 'configmap', 'watched', 'x=y');
      await w.waitFor((l) => l.some((x) => /MODIFIED\s+watched/.test(x)));
      await ok('delete', 'configmap', 'watched');
      await w.waitFor((l) => l.some((x) => /DELETED\s+watched/.test(x)));
    } finally {
      w.stop();
    }
  });

  it('get prints upstream columns, -o wide adds IP and NODE, --show-labels and --sort-by work', async () => {
    await okWith(configMap('columns'), 'create', '-f', '-');
    expect(await ok('get', 'pods')).to.match(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
    expect(await ok('get', 'pods', '-o', 'wide')).to.match(
      /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\n/,
    );
    expect(await ok('get', 'svc', 'kubernetes')).to.match(/kubernetes\s+ClusterIP\s+127\.96\.0\.1\s+<none>\s+443\/TCP/);
    expect(await ok('get', 'rc')).to.match(/^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nmyweb\s+3\s+0\s+0\s/);
    expect(await ok('get', 'ns')).to.match(/^NAME\s+STATUS\s+AGE\n/);
    expect(await ok('get', 'pods', '--show-labels')).to.match(/web\s.*app=web/);
    const sorted = (await ok('get', 'configmaps', '--sort-by=.metadata.name', '-o', 'name')).trim().split('\n');
    expect(sorted).to.deep.equal([...sorted].sort());
    expect(await ok('get', 'configmap', 'columns')).to.match(/^NAME\s+DATA\s+AGE\ncolumns\s+1\s/);
  });

  it('delete removes one object and delete --all the rest', async () => {
    expect(await ok('delete', 'pod', 'web')).to.contain('pod "web" deleted');
    expect((await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/web')).status).to.equal(404);
    for (const n of ['a', 'b', 'c']) await okWith(configMap(`bulk-${n}`), 'create', '-f', '-');
    await ok('delete', 'configmaps', '--all');
    const left = await api(ts.url, 'GET', '/api/v1/namespaces/default/configmaps');
    expect(left.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).to.not.include('bulk-a');
    expect(left.body.items).to.have.length(0);
  });

  it('reports bad input with the server message', async () => {
    const r = await kubectl(
      ts.url,
      ['create', '-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers: []\n',
    );
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/is invalid/);
  });
});
