/** The config loader: what it accepts, and the coded errors that name the file, the key and the fix. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { loadConfig, loadConfigFromObject } from '../../core/config/load.js';
import { SkiffError } from '../../core/errors.js';
import { api, startTestServer } from '../helpers/server.js';

async function failure(p: Promise<unknown>): Promise<SkiffError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a SkiffError').to.be.instanceOf(SkiffError);
  return err as SkiffError;
}

describe('core/config', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-config-'));
    // Third-party plugins are ES modules, like Skiff itself.
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('loads config/default.yaml with plugins in order and defaults applied', async () => {
    const c = await loadConfig(undefined);
    expect(c.file).to.match(/config\/default\.yaml$/);
    expect(c.plugins.map((p) => p.name)).to.deep.equal([
      'storage-sqlite',
      'storage-memory',
      'storage-etcd',
      'api-core-v1',
      'api-coordination-v1',
      'api-scheduling-v1',
      'api-apps-v1',
      'api-discovery-v1',
      'api-authentication-v1',
      'api-authorization-v1',
      'api-server-side-apply',
      'api-watch-cache',
      'api-patch-json',
      'api-patch-strategic-merge',
      'wire-protobuf',
      'wire-openapi',
      'metrics-prometheus',
      'pki-local',
      'api-proxy',
      'authn-x509',
      'authn-service-account',
      'authz-node',
      'authz-bootstrap-roles',
      'quota-evaluator',
      'admission-namespace-lifecycle',
      'admission-limit-ranger',
      'admission-service-account',
      'admission-node-restriction',
      'admission-priority',
      'admission-default-toleration-seconds',
      'admission-resource-quota',
      'leader-election-lease',
      'controller-manager',
      'controller-namespace',
      'controller-service-account',
      'controller-resource-quota',
      'controller-root-ca-cert-publisher',
      'controller-replication',
      'controller-deployment',
      'controller-garbage-collector',
      'controller-node-lifecycle',
      'controller-node-ipam',
      'controller-pod-gc',
      'controller-endpoints',
      'controller-endpointslice',
      'controller-service',
      'cloud-local',
      'scheduler-default',
      'runtime-process',
      'runtime-simulated',
      'node-kubelet',
      'proxy-userspace',
      'dns-cluster',
    ]);
    expect(c.server.bindAddress).to.equal('127.0.0.1');
    expect(c.server.dataDir).to.equal(resolve('data'));
    expect(c.plugins.find((p) => p.name === 'api-core-v1')!.config).to.include({
      serviceClusterIPRange: '10.96.0.0/16',
    });
  });

  it("defaults to upstream's ports: HTTPS on 6443, the insecure port off", async () => {
    const c = await loadConfigFromObject({}, '(test)');
    expect(c.server).to.include({ securePort: 6443, insecurePort: 0, bindAddress: '127.0.0.1' });
  });

  it('SKIFF_INSECURE_NOT_LOOPBACK: the insecure port never listens beyond loopback', async () => {
    const e = await failure(
      loadConfig(write('open.yaml', 'server:\n  insecurePort: 8080\n  insecureBindAddress: 0.0.0.0\n')),
    );
    expect(e.code).to.equal('SKIFF_INSECURE_NOT_LOOPBACK');
    expect(e.message).to.contain('open.yaml:3');
    const off = await loadConfig(write('off.yaml', 'server:\n  insecurePort: 0\n  insecureBindAddress: 0.0.0.0\n'));
    expect(off.server.insecurePort).to.equal(0);
  });

  it('an authentication flag turns its plugin on, merged over the file entry', async () => {
    const tokens = write('tokens.csv', 't,u,1\n');
    const c = await loadConfig(undefined, { plugins: { 'authn-token-file': { tokenAuthFile: tokens } } });
    const entry = c.plugins.find((p) => p.name === 'authn-token-file');
    expect(entry?.config).to.deep.equal({ tokenAuthFile: tokens });
  });

  it("--authorization-mode replaces the file's authorizers, in the order given", async () => {
    const c = await loadConfig(write('authz.yaml', 'plugins:\n  storage-memory: {}\n  authz-always-allow: {}\n'), {
      storageBackend: 'memory',
      authorizers: [{ name: 'authz-always-deny' }, { name: 'authz-always-allow' }],
    });
    expect(c.plugins.map((p) => p.name).filter((n) => n.startsWith('authz-'))).to.deep.equal([
      'authz-always-deny',
      'authz-always-allow',
    ]);
  });

  it('flags override the file', async () => {
    const c = await loadConfig(undefined, { insecurePort: 9999, storageBackend: 'memory', dataDir: '/tmp/x' });
    expect(c.server).to.include({ insecurePort: 9999, storageBackend: 'memory', dataDir: '/tmp/x' });
  });

  it('SKIFF_CONFIG_NOT_FOUND and SKIFF_CONFIG_YAML with the line', async () => {
    expect((await failure(loadConfig(join(dir, 'missing.yaml')))).code).to.equal('SKIFF_CONFIG_NOT_FOUND');
    const e = await failure(loadConfig(write('bad.yaml', 'server:\n  insecurePort: [1,\n')));
    expect(e.code).to.equal('SKIFF_CONFIG_YAML');
    expect(e.message).to.match(/bad\.yaml:\d+:\d+/);
  });

  it('SKIFF_CONFIG_INVALID names the file, line and key', async () => {
    const e = await failure(loadConfig(write('port.yaml', 'server:\n  insecurePort: abc\n')));
    expect(e.code).to.equal('SKIFF_CONFIG_INVALID');
    expect(e.message).to.contain('port.yaml:2').and.contain('server.insecurePort');
    expect(e.fix).to.be.a('string').and.not.equal('');
    const typo = await failure(loadConfig(write('typo.yaml', 'server:\n  insecurePrt: 1\n')));
    expect(typo.message).to.contain('insecurePrt');
  });

  it('SKIFF_CONFIG_UNKNOWN_PLUGIN lists the known plugins and the fix', async () => {
    const e = await failure(loadConfig(write('unknown.yaml', 'plugins:\n  storage-sqlit: {}\n')));
    expect(e.code).to.equal('SKIFF_CONFIG_UNKNOWN_PLUGIN');
    expect(e.message).to.contain('plugins.storage-sqlit').and.contain('storage-sqlite');
    expect(e.fix).to.contain('path:');
  });

  it('SKIFF_PLUGIN_CONFIG_INVALID names the plugin key', async () => {
    const e = await failure(
      loadConfig(write('cidr.yaml', 'plugins:\n  api-core-v1:\n    config:\n      serviceClusterIPRange: banana\n')),
    );
    expect(e.code).to.equal('SKIFF_PLUGIN_CONFIG_INVALID');
    expect(e.message).to.contain('plugins.api-core-v1.config.serviceClusterIPRange');
  });

  it('SKIFF_PLUGIN_MISSING_DEPENDENCY and dependency order', async () => {
    const manifest = (name: string, dependencies: string[] = []) =>
      write(
        `${name}.ts`,
        `export default { name: '${name}', description: 't', dependencies: ${JSON.stringify(dependencies)}, setup() {} };\n`,
      );
    manifest('needs-b', ['b-plugin']);
    manifest('b-plugin');
    const missing = await failure(loadConfig(write('dep.yaml', 'plugins:\n  needs-b:\n    path: ./needs-b.ts\n')));
    expect(missing.code).to.equal('SKIFF_PLUGIN_MISSING_DEPENDENCY');
    expect(missing.message).to.contain('"b-plugin"');
    const ok = await loadConfig(
      write('dep-ok.yaml', 'plugins:\n  needs-b:\n    path: ./needs-b.ts\n  b-plugin:\n    path: ./b-plugin.ts\n'),
    );
    expect(ok.plugins.map((p) => p.name)).to.deep.equal(['b-plugin', 'needs-b']);
  });

  it('disabled plugins are left out; a name mismatch is refused', async () => {
    const c = await loadConfigFromObject(
      { plugins: { 'storage-memory': { enabled: false }, 'storage-sqlite': {} } },
      '(test)',
    );
    expect(c.plugins.map((p) => p.name)).to.deep.equal(['storage-sqlite']);
    write('liar.ts', "export default { name: 'someone-else', description: 't', setup() {} };\n");
    const e = await failure(loadConfig(write('liar.yaml', 'plugins:\n  liar:\n    path: ./liar.ts\n')));
    expect(e.code).to.equal('SKIFF_PLUGIN_NAME_MISMATCH');
  });

  it('loads a third-party plugin by path and runs it in the chain', async () => {
    const ts = await startTestServer({
      plugins: {
        'hello-admission': { path: resolve('test/fixtures/plugins/hello-admission'), config: { label: 'greeted' } },
      },
    });
    try {
      const r = await api(ts.url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'x' } });
      expect(r.status).to.equal(201);
      expect(r.body.metadata.labels).to.deep.equal({ greeted: 'yes' });
    } finally {
      await ts.close();
    }
  });
});
