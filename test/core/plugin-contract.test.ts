/**
 * The plugin contract of issue 18: typed services (`provide.service` / `use`) with a coded error for
 * a missing provider, the `ctx.api` facade and lifecycle callbacks, the contribution points the
 * server reads while it assembles itself (routes, client CAs, WWW-Authenticate challenges), the
 * record of which points each plugin used (`skiff config check` prints it), and plugins' own flags
 * and commands on the command line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { loadConfigFromObject, type ResolvedConfig } from '../../core/config/load.js';
import {
  type ApiClient,
  CORE_V1,
  definePlugin,
  type PluginManifest,
  SkiffError,
  serviceKey,
} from '../../core/sdk/index.js';
import { createServer, preparePlugins } from '../../core/server/server.js';
import { httpsRequest } from '../helpers/security.js';
import { startTestServer } from '../helpers/server.js';

const BIN = new URL('../../scripts/skiff.mjs', import.meta.url).pathname;
const GREETER = new URL('../fixtures/plugins/flagged-greeter', import.meta.url).pathname;
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

const GREETING = serviceKey<{ greet(name: string): string }>('greeting', 'a greeting');
const silent = pino({ level: 'silent' });

// biome-ignore lint/suspicious/noExplicitAny: manifests differ in their config type
type Manifest = PluginManifest<any>;

/** A config with in-memory storage and api-core-v1, then `extra` (in-test plugins) in that order. */
async function configWith(dataDir: string, extra: Manifest[]): Promise<ResolvedConfig> {
  const base = await loadConfigFromObject(
    {
      server: { dataDir, insecurePort: 'auto', securePort: 0, storageBackend: 'memory', shutdownTimeoutSeconds: 5 },
      plugins: { 'storage-memory': {}, 'api-core-v1': {} },
    },
    '(test)',
  );
  const loaded = extra.map((manifest) => ({
    name: manifest.name,
    manifest,
    config: {},
    source: '(test)',
    failurePolicy: 'Fail' as const,
    timeoutSeconds: 10,
  }));
  return { ...base, plugins: [...base.plugins, ...loaded] };
}

const greeter = definePlugin({
  name: 'greeter',
  description: 'provides GREETING',
  provides: [GREETING],
  setup: (ctx) => ctx.provide.service(GREETING, { greet: (name) => `hello, ${name}` }),
});

describe('core/plugins: the plugin contract', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'skiff-contract-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  describe('typed services', () => {
    const user = definePlugin({
      name: 'needs-greeting',
      description: 'uses GREETING at setup',
      setup: (ctx) => void ctx.use(GREETING),
    });

    it('use() of a service no enabled plugin provides stops set-up: SKIFF_PLUGIN_MISSING_PROVIDER says what to enable', async () => {
      const err = await preparePlugins({ config: await configWith(dataDir, [user]), role: 'check', logger: silent })
        .then(() => undefined)
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(SkiffError);
      expect((err as SkiffError).code).to.equal('SKIFF_PLUGIN_MISSING_PROVIDER');
      expect((err as SkiffError).message).to.equal(
        'plugin "needs-greeting" needs greeting, which no enabled plugin provides',
      );
      // No built-in plugin provides it, so the fix can only describe one.
      expect((err as SkiffError).fix).to.equal(
        'enable a plugin that provides greeting (a greeting) or disable needs-greeting',
      );
    });

    it('a provider set up after its user is named, with the fix: list it in dependencies', async () => {
      const config = await configWith(dataDir, [user, greeter]);
      const err = await preparePlugins({ config, role: 'check', logger: silent }).catch((e: unknown) => e);
      expect((err as SkiffError).code).to.equal('SKIFF_PLUGIN_MISSING_PROVIDER');
      expect((err as SkiffError).message).to.contain('greeter provides, but greeter is set up after it');
      expect((err as SkiffError).fix).to.contain('dependencies of needs-greeting');
    });

    it('use() returns what the provider gave, to plugins and to the server; a second provider is refused', async () => {
      let greeted = '';
      const polite = definePlugin({
        name: 'polite',
        description: 'greets at setup',
        dependencies: ['greeter'],
        setup: (ctx) => {
          greeted = ctx.use(GREETING).greet('bob');
        },
      });
      const { plugins } = await preparePlugins({
        config: await configWith(dataDir, [greeter, polite]),
        role: 'check',
        logger: silent,
      });
      expect(greeted).to.equal('hello, bob');
      expect(plugins.use(GREETING).greet('amy')).to.equal('hello, amy');
      await plugins.closeAll();

      const again = definePlugin({ ...greeter, name: 'greeter-2' });
      const err = await preparePlugins({
        config: await configWith(dataDir, [greeter, again]),
        role: 'check',
        logger: silent,
      }).catch((e: unknown) => e);
      expect((err as SkiffError).code).to.equal('SKIFF_PLUGIN_SERVICE_DUPLICATE');
    });
  });

  it('ctx.api refuses storage work during setup, serves it from bootstrap on; onReady runs after listen; routes serve', async () => {
    const seen: string[] = [];
    let setupError = '';
    const probe = definePlugin({
      name: 'probe',
      description: 'uses ctx.api, a route and the lifecycle',
      setup(ctx) {
        try {
          ctx.api.storage();
        } catch (err) {
          setupError = (err as Error).message;
        }
        ctx.provide.bootstrap('probe', async () => {
          const ns = await ctx.api.cached.get('', 'v1', 'namespaces', '', 'default');
          seen.push(`bootstrap: default namespace ${ns ? 'found' : 'missing'}`);
        });
        ctx.provide.routes((router) =>
          router.get('/probe', (c) => {
            c.body = 'probed';
          }),
        );
        ctx.onReady(async () => {
          const client: ApiClient = ctx.api.client();
          const { items } = await client.list(CORE_V1('namespaces'), '');
          seen.push(`ready: ${items.length > 0 ? 'namespaces listed' : 'none'}`);
        });
        ctx.onShutdown(() => void seen.push('shutdown'));
      },
    });
    const server = await createServer({
      config: await configWith(dataDir, [probe]),
      role: 'apiserver',
      logger: silent,
    });
    try {
      expect(setupError).to.match(/usable once storage is open/);
      const { insecure } = await server.listen();
      expect(seen).to.deep.equal(['bootstrap: default namespace found', 'ready: namespaces listed']);
      const res = await fetch(`http://127.0.0.1:${insecure!.port}/probe`);
      expect(await res.text()).to.equal('probed');
      expect(server.api.registry.find('', 'v1', 'pods')?.kind).to.equal('Pod');
    } finally {
      await server.close();
    }
    expect(seen).to.include('shutdown');
  });

  it('client CA bundles from every plugin that offers one are joined; sources with nothing are skipped', async () => {
    const ca = (name: string, pem: string | undefined) =>
      definePlugin({ name, description: 'offers a client CA', setup: (ctx) => ctx.provide.clientCA(() => pem) });
    const { plugins } = await preparePlugins({
      config: await configWith(dataDir, [ca('ca-a', 'PEM-A'), ca('ca-none', undefined), ca('ca-b', 'PEM-B')]),
      role: 'check',
      logger: silent,
    });
    expect(plugins.clientCA()).to.equal('PEM-A\nPEM-B');
    await plugins.closeAll();
  });

  it('a 401 carries the challenge authn-basic-file contributes: WWW-Authenticate: Basic realm="kubernetes-master"', async () => {
    const file = join(dataDir, 'passwords.csv');
    writeFileSync(file, 'secret,bob,1\n');
    const ts = await startTestServer({
      secure: true,
      plugins: { 'authn-basic-file': { config: { basicAuthFile: file } } },
    });
    try {
      const wrong = await httpsRequest(ts, '/api', {
        headers: { Authorization: `Basic ${Buffer.from('bob:nope').toString('base64')}` },
      });
      expect(wrong.status).to.equal(401);
      expect(wrong.headers['www-authenticate']).to.equal('Basic realm="kubernetes-master"');
      const right = await httpsRequest(ts, '/api', {
        headers: { Authorization: `Basic ${Buffer.from('bob:secret').toString('base64')}` },
      });
      expect(right.headers['www-authenticate']).to.equal(undefined);
    } finally {
      await ts.close();
    }
  });

  it('`skiff config check` prints the contribution points each plugin uses, and what its manifest declares', () => {
    const r = run(['config', 'check', '--data-dir', dataDir]);
    expect(r.status, r.stderr).to.equal(0);
    const section = r.stdout.slice(r.stdout.indexOf('contribution points, per plugin:'));
    expect(section.split('\n')).to.include.members([
      '  storage-sqlite: storageBackend',
      '  api-core-v1: resource, service, bootstrap, onReady, onShutdown; flags --service-node-port-range --event-ttl',
      '  pki-local: service, servingIdentity, onReady; commands certs kubeconfig',
      '  authn-x509: use(pki), clientCA, authenticator; flags --client-ca-file',
      '  authz-bootstrap-roles: authorizer; authorization mode BootstrapRoles',
      '  quota-evaluator: service',
      '  admission-resource-quota: use(quota-usage), admission; admission name ResourceQuota',
      '  controller-root-ca-cert-publisher: controller; flags --root-ca-file',
    ]);
    // A check changes nothing: no CA or key is left in the data directory.
    expect(existsSync(join(dataDir, 'pki'))).to.equal(false);
  });

  describe("a third-party plugin's flags and commands, from the config file that names it", () => {
    let config: string;
    beforeEach(() => {
      config = join(dataDir, 'skiff.yaml');
      writeFileSync(
        config,
        `plugins:\n  storage-memory: {}\n  flagged-greeter:\n    path: ${GREETER}\n    enabled: false\n`,
      );
    });

    it('--help lists them, under the plugin; the command runs', () => {
      const help = run(['up', '--config', config, '--help']);
      expect(help.stdout).to.contain('Options of plugin flagged-greeter:').and.contain('--greeting <text>');
      expect(run(['greet', '--config', config, 'amy']).stdout).to.equal('hello, amy\n');
      // Without that config file, the plugin is unknown: its flag is an error, as any unknown flag.
      expect(run(['up', '--greeting', 'hi', '--secure-port', '0']).status).to.equal(2);
    });

    it('the flag turns the plugin on with its value', async function () {
      this.timeout(30_000);
      const args = ['up', '--config', config, '--greeting', 'ahoy', '--secure-port', '0', '--insecure-port', 'auto'];
      const child = spawn(process.execPath, [BIN, ...args, '--storage-backend', 'memory', '--data-dir', dataDir]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      try {
        const deadline = Date.now() + 20_000;
        while (!out.includes('"ready"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(out).to.contain('flagged-greeter says ahoy');
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
});
