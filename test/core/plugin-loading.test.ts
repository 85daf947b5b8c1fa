/**
 * Loading a plugin by path from a folder outside this repository, as a new user writes one: what
 * just works (`skiff/sdk` and `z` resolve to the running Skiff's own SDK, an `.mts` entry) and what
 * stops start-up with a coded error saying exactly what to change (a folder whose package.json
 * does not say `"type": "module"`, an npm package the folder does not have). Also: `skiff config
 * check` prints the contribution points of the three example plugins in config/examples/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { describePoints } from '../../core/cli/commands/config.js';
import { loadConfig, loadConfigFromObject } from '../../core/config/load.js';
import { preparePlugins } from '../../core/server/server.js';
import { api, startTestServer } from '../helpers/server.js';
import { skipBecause } from '../helpers/skip.js';

const BIN = new URL('../../scripts/skiff.mjs', import.meta.url).pathname;
const EXAMPLES = new URL('../../config/examples/', import.meta.url).pathname;

/** A plugin as the README's "Writing a plugin" shows: ESM, typed, imports only the SDK. */
const PLUGIN_SOURCE = `import { definePlugin, forbidden, isResource, z } from 'skiff/sdk';
const configSchema = z.strictObject({ refuse: z.string().default('blocked') });
export default definePlugin<z.infer<typeof configSchema>>({
  name: 'outside',
  description: 'refuses pods named by config',
  config: configSchema,
  setup(ctx) {
    ctx.provide.admission({
      name: 'Outside',
      validate(a) {
        if (isResource(a, '', 'pods') && a.name === ctx.config.refuse) throw forbidden(a, 'refused from outside');
      },
    });
  },
});
`;

interface Folder {
  root: string;
  plugin: string;
  write(relative: string, text: string): string;
}

/** A scratch folder outside the repository: `<root>/plugin/` is the plugin, `<root>` its parent. */
function outside(): Folder {
  const root = mkdtempSync(join(tmpdir(), 'skiff-outside-'));
  const plugin = join(root, 'plugin');
  mkdirSync(plugin);
  return {
    root,
    plugin,
    write(relative, text) {
      const file = join(root, relative);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
  };
}

async function loadError(path: string): Promise<{ code: string; message: string; fix: string } | undefined> {
  return loadConfigFromObject({ plugins: { outside: { path } } }, 'skiff.yaml').then(
    () => undefined,
    (err: unknown) => err as { code: string; message: string; fix: string },
  );
}

describe('plugins loaded by path from outside the repository', () => {
  let f: Folder;
  beforeEach(() => {
    f = outside();
  });
  afterEach(() => rmSync(f.root, { recursive: true, force: true }));

  it('a folder with "type": "module" loads; skiff/sdk and z resolve to the running SDK (its 403 reaches the client)', async () => {
    f.write('plugin/package.json', '{ "type": "module" }');
    f.write('plugin/index.ts', PLUGIN_SOURCE);
    const s = await startTestServer({ plugins: { outside: { path: f.plugin, config: { refuse: 'bad' } } } });
    try {
      const pod = (name: string) => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'x:1' }] } });
      const refused = await api(s.url, 'POST', '/api/v1/namespaces/default/pods', pod('bad'));
      expect(refused.status).to.equal(403);
      expect(refused.body.message).to.equal('pods "bad" is forbidden: refused from outside');
      expect((await api(s.url, 'POST', '/api/v1/namespaces/default/pods', pod('good'))).status).to.equal(201);
    } finally {
      await s.close();
    }
  });

  it("a config block its schema refuses: the fix points at the plugin's own README, not a built-in's", async () => {
    f.write('plugin/package.json', '{ "type": "module" }');
    f.write('plugin/index.ts', PLUGIN_SOURCE);
    const err = await loadConfigFromObject(
      { plugins: { outside: { path: f.plugin, config: { refuse: 5 } } } },
      'skiff.yaml',
    ).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string; fix: string },
    );
    expect(err?.code).to.equal('SKIFF_PLUGIN_CONFIG_INVALID');
    expect(err?.message).to.contain('plugins.outside.config.refuse');
    expect(err?.fix).to.equal(`see ${join(f.plugin, 'README.md')} for its keys`);
  });

  it('a package.json without "type": "module" stops start-up with SKIFF_PLUGIN_NOT_ESM naming that file', async () => {
    const manifest = f.write('package.json', '{ "name": "my-plugins" }');
    const entry = f.write('plugin/index.ts', PLUGIN_SOURCE);
    const err = await loadError(f.plugin);
    expect(err?.code).to.equal('SKIFF_PLUGIN_NOT_ESM');
    expect(err?.message).to.equal(
      `skiff.yaml: plugins.outside: ${entry} uses import/export, but ${manifest} has no "type" field, so Node would load it as CommonJS`,
    );
    expect(err?.fix).to.equal(`set "type": "module" in ${manifest}, or rename index.ts to index.mts`);
  });

  it('"type": "commonjs" is named as such', async () => {
    const manifest = f.write('plugin/package.json', '{ "type": "commonjs" }');
    f.write('plugin/index.ts', PLUGIN_SOURCE);
    const err = await loadError(f.plugin);
    expect(err?.code).to.equal('SKIFF_PLUGIN_NOT_ESM');
    expect(err?.message).to.contain(`${manifest} says "type": "commonjs"`);
  });

  it('no package.json at all: the fix says which file to create, with what', async function () {
    for (let d = f.root; dirname(d) !== d; d = dirname(d)) {
      if (existsSync(join(dirname(d), 'package.json')))
        skipBecause(this, 'a package.json above the temp dir decides the module format instead');
    }
    const entry = f.write('plugin/index.ts', PLUGIN_SOURCE);
    const err = await loadError(entry);
    expect(err?.code).to.equal('SKIFF_PLUGIN_NOT_ESM');
    expect(err?.fix).to.equal(
      `create ${join(f.plugin, 'package.json')} containing { "type": "module" }, or rename index.ts to index.mts`,
    );
  });

  it('an index.mts needs no package.json: the folder loads', async () => {
    f.write('package.json', '{ "name": "my-plugins" }');
    f.write('plugin/index.mts', PLUGIN_SOURCE);
    const config = await loadConfigFromObject({ plugins: { outside: { path: f.plugin } } }, 'skiff.yaml');
    expect(config.plugins.map((p) => p.name)).to.deep.equal(['outside']);
  });

  it('a CommonJS plugin (no import/export) is left to load as CommonJS', async () => {
    f.write('package.json', '{ "name": "my-plugins" }');
    f.write('plugin/index.js', 'module.exports = { default: { name: "outside", description: "cjs", setup() {} } };');
    const err = await loadError(f.plugin);
    expect(err?.code, err?.message).to.not.equal('SKIFF_PLUGIN_NOT_ESM');
  });

  it('an npm package the folder does not have: the fix says where to install it', async () => {
    f.write('plugin/package.json', '{ "type": "module" }');
    f.write('plugin/index.ts', `import pad from 'left-pad-not-installed';\npad('x', 2);\n${PLUGIN_SOURCE}`);
    const err = await loadError(f.plugin);
    expect(err?.code).to.equal('SKIFF_PLUGIN_LOAD');
    expect(err?.message).to.contain("Cannot find package 'left-pad-not-installed'");
    expect(err?.fix).to.equal(
      `npm install left-pad-not-installed in the plugin's folder (${f.plugin}) or a folder above it; skiff/sdk needs no install`,
    );
  });

  it("zod imported directly: the fix points at the SDK's z", async () => {
    f.write('plugin/package.json', '{ "type": "module" }');
    f.write('plugin/index.ts', `import { z as zod } from 'zod';\nzod.string();\n${PLUGIN_SOURCE}`);
    const err = await loadError(f.plugin);
    expect(err?.code).to.equal('SKIFF_PLUGIN_LOAD');
    expect(err?.fix).to.contain("import { z } from 'skiff/sdk'");
  });

  it('the skiff bin, run from another directory, loads it and prints its contribution points', () => {
    f.write('plugin/package.json', '{ "type": "module" }');
    f.write('plugin/index.ts', PLUGIN_SOURCE);
    const config = f.write(
      'skiff.yaml',
      'server: { storageBackend: memory }\nplugins:\n  storage-memory: {}\n  api-core-v1: {}\n  outside: { path: ./plugin }\n',
    );
    const r = spawnSync(process.execPath, [BIN, 'config', 'check', '--config', config, '--data-dir', f.root], {
      cwd: f.root,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('admission (validating): Outside');
    expect(r.stdout.split('\n')).to.include('  outside: admission');
  });
});

describe('skiff config check on the example plugins', () => {
  /** What `skiff config check --config <file>` prints under "contribution points, per plugin:", in-process. */
  async function points(file: string): Promise<string[]> {
    const dataDir = mkdtempSync(join(tmpdir(), 'skiff-examples-'));
    try {
      const config = await loadConfig(join(EXAMPLES, file), { dataDir });
      const prepared = await preparePlugins({ config, role: 'check', logger: pino({ level: 'silent' }) });
      await prepared.plugins.closeAll();
      return describePoints(config, prepared.plugins.points);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  it('a plugin whose work starts only in its own roles says so, rather than "(none)"', async () => {
    const lines = await points('../default.yaml');
    expect(lines).to.include('  dns-cluster: (none at check: starts its work in skiff up)');
    expect(lines).to.include(
      '  controller-manager: (none at check: starts its work in skiff up, skiff controller-manager); commands controller-manager',
    );
    expect(lines).to.include('  storage-sqlite: storageBackend');
  });

  it('prints the contribution points each example plugin uses', async () => {
    expect(await points('deny-latest.yaml')).to.include('  admission-deny-latest: admission');
    expect(await points('lab-header.yaml')).to.include('  authn-lab-header: authenticator');
    expect(await points('namespace-labels.yaml')).to.include('  controller-namespace-labels: authorizer, controller');
  });
});
