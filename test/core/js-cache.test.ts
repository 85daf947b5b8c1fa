/**
 * scripts/js-cache.mjs, the launcher's JavaScript build of core/ and plugins/: made from a small
 * tree of its own, the build runs under plain Node (no loader hooks), is reused while the sources
 * are unchanged and made anew when one changes, finds the data files beside each source, and
 * resolves `skiff/sdk` into itself, to the same modules core uses. The real launcher runs from it in
 * every test that spawns `skiff` (cli.test.ts and the e2e tests).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
// @ts-expect-error: a plain JavaScript module of the launcher, without type declarations
import { compileTree } from '../../scripts/js-cache.mjs';
import { tempDir } from '../helpers/temp-dirs.js';

interface Compiled {
  out: string;
  built: boolean;
}
const compile = compileTree as (root: string, out?: string) => Promise<Compiled>;

const BIN = new URL('../../scripts/skiff.mjs', import.meta.url).pathname;

function write(root: string, file: string, text: string): void {
  mkdirSync(join(root, file, '..'), { recursive: true });
  writeFileSync(join(root, file), text);
}

/** A repository in miniature: a typed CLI entry reading a data file, an SDK entry, a plugin importing it by name. */
function smallTree(): string {
  const root = tempDir('skiff-js-cache-');
  write(root, 'package.json', JSON.stringify({ name: 'skiff', version: '9.9.9', type: 'module' }));
  write(root, 'tsconfig.json', '{}');
  write(root, 'config/default.yaml', 'server: {}\n');
  write(root, 'core/sdk/index.ts', "export const greet = (who: string): string => 'hello ' + who;\n");
  write(root, 'core/sdk/counter.ts', 'export let calls = 0;\nexport const count = (): number => ++calls;\n');
  write(root, 'core/cli/data.json', '{"answer":42}\n');
  write(
    root,
    'core/cli/main.ts',
    [
      "import { readFileSync } from 'node:fs';",
      "import { greet } from '../sdk/index.js';",
      "import { count } from '../sdk/counter.js';",
      'interface Data { answer: number }',
      "const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8')) as Data;",
      'count();',
      'console.log(greet(String(data.answer)));',
    ].join('\n'),
  );
  write(
    root,
    'plugins/p/index.ts',
    "import { greet } from 'skiff/sdk';\nimport { count } from 'skiff/sdk/counter';\nexport default greet('plugin') + ' ' + count();\n",
  );
  write(root, 'plugins/p/README.md', '# p\n');
  return root;
}

const runNode = (args: string[]) => spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });

describe('scripts/js-cache.mjs: the launcher runs a JavaScript copy', function () {
  this.timeout(30_000);

  it('bundles the entry points into modules plain Node runs, links data files and config/, skips READMEs', async () => {
    const root = smallTree();
    const { out, built } = await compile(root);
    expect(built).to.equal(true);
    expect(join(out, '..')).to.equal(join(root, '.cache', 'js'));
    const ran = runNode([join(out, 'core/cli/main.js')]);
    expect(ran.stderr).to.equal('');
    expect(ran.stdout.trim()).to.equal('hello 42');
    expect(existsSync(join(out, 'plugins/p/README.md'))).to.equal(false);
    expect(readFileSync(join(out, 'config/default.yaml'), 'utf8')).to.equal('server: {}\n');
    // Linked, not copied: a path logged from the copy names the file a person would edit.
    expect(realpathSync(join(out, 'core/cli/data.json'))).to.equal(realpathSync(join(root, 'core/cli/data.json')));
    // The source map names the TypeScript file, so stack traces point at what a person edits.
    const map = JSON.parse(readFileSync(join(out, 'core/cli/main.js.map'), 'utf8')) as { sources: string[] };
    expect(map.sources.some((s) => s.endsWith('core/cli/main.ts'))).to.equal(true);
  });

  it('bundles CommonJS npm packages (their require() of built-ins works in an ES module); the ones that must load by path stay outside', async () => {
    const root = smallTree();
    // A CommonJS package as most of Skiff's are, and `pino`, one kept outside (it starts workers by path).
    write(root, 'node_modules/tiny-cjs/package.json', '{"name":"tiny-cjs","main":"index.js"}');
    write(
      root,
      'node_modules/tiny-cjs/index.js',
      "const { basename } = require('node:path');\nexports.base = (p) => basename(p);\n",
    );
    write(root, 'node_modules/pino/package.json', '{"name":"pino","main":"index.js"}');
    write(root, 'node_modules/pino/index.js', 'exports.loadedFrom = __filename;\n');
    write(
      root,
      'core/cli/main.ts',
      [
        "import { base } from 'tiny-cjs';",
        "import { loadedFrom } from 'pino';",
        "console.log(base('/a/b/c.txt'), loadedFrom.endsWith('node_modules/pino/index.js'));",
      ].join('\n'),
    );
    const { out } = await compile(root);
    const ran = runNode([join(out, 'core/cli/main.js')]);
    expect(ran.stderr).to.equal('');
    expect(ran.stdout.trim()).to.equal('c.txt true');
    const main = readFileSync(join(out, 'core/cli/main.js'), 'utf8');
    expect(main).to.contain('basename(p)');
    expect(main).to.match(/from "pino"/);
  });

  it('makes a new build when npm changes the installed packages (node_modules/.package-lock.json), as they are bundled', async () => {
    const root = smallTree();
    write(root, 'node_modules/.package-lock.json', '{"packages":{}}');
    const first = await compile(root);
    write(root, 'node_modules/.package-lock.json', '{"packages":{"node_modules/tiny-cjs":{}}}');
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, 'node_modules/.package-lock.json'), later, later);
    const reinstalled = await compile(root);
    expect(reinstalled.built).to.equal(true);
    expect(reinstalled.out).to.not.equal(first.out);
  });

  it('a plugin in the build imports skiff/sdk from the build itself: the very modules core runs', async () => {
    const root = smallTree();
    const { out } = await compile(root);
    const pkg = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8'));
    expect(pkg).to.deep.include({ name: 'skiff', version: '9.9.9', type: 'module' });
    const main = JSON.stringify(join(out, 'core/cli/main.js'));
    const plugin = JSON.stringify(join(out, 'plugins/p/index.js'));
    // main counted once; the plugin's count is the second on the same counter, not a copy's first.
    const probe = `await import(${main}); console.log((await import(${plugin})).default)`;
    expect(runNode(['--input-type=module', '-e', probe]).stdout.trim()).to.equal('hello 42\nhello plugin 2');
  });

  it('reuses a build while nothing changed, makes a new one when a source changes or goes, keeps the newest few', async () => {
    const root = smallTree();
    const first = await compile(root);
    expect(await compile(root)).to.deep.equal({ out: first.out, built: false });
    write(root, 'core/sdk/index.ts', "export const greet = (who: string): string => 'hi ' + who;\n");
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, 'core/sdk/index.ts'), later, later);
    const edited = await compile(root);
    expect(edited.built).to.equal(true);
    expect(edited.out).to.not.equal(first.out);
    expect(runNode([join(edited.out, 'core/cli/main.js')]).stdout.trim()).to.equal('hi 42');
    // The older build stays for a process still running from it.
    expect(runNode([join(first.out, 'core/cli/main.js')]).stdout.trim()).to.equal('hello 42');
    rmSync(join(root, 'plugins/p'), { recursive: true });
    const removed = await compile(root);
    expect(removed.built).to.equal(true);
    expect(existsSync(join(removed.out, 'plugins/p/index.js'))).to.equal(false);
    for (let i = 0; i < 3; i++) {
      write(root, 'core/sdk/index.ts', `export const greet = (who: string): string => '${i} ' + who;\n`);
      const t = new Date(Date.now() + 10_000 * (i + 2));
      utimesSync(join(root, 'core/sdk/index.ts'), t, t);
      await compile(root);
    }
    // The current build and the three before it; the first is gone.
    expect(readdirSync(join(root, '.cache', 'js'))).to.have.length(4);
    expect(existsSync(first.out)).to.equal(false);
  });

  it('the skiff bin runs from the copy by default, and from the sources with SKIFF_FROM_SOURCE=1', () => {
    for (const env of [{}, { SKIFF_FROM_SOURCE: '1' }]) {
      const ran = spawnSync(process.execPath, [BIN, 'version'], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
        timeout: 60_000,
      });
      expect(ran.status, ran.stderr).to.equal(0);
      expect(ran.stdout).to.contain('Kubernetes API v1.32.0');
    }
    const builds = readdirSync(new URL('../../.cache/js/', import.meta.url));
    expect(builds.some((b) => existsSync(new URL(`../../.cache/js/${b}/core/cli/main.js`, import.meta.url)))).to.equal(
      true,
    );
  });

  it('a copy that cannot be built (SKIFF_JS_CACHE under a file) falls back to the sources, saying why', () => {
    const blocker = join(tempDir('skiff-js-cache-blocked-'), 'a-file');
    writeFileSync(blocker, '');
    const ran = spawnSync(process.execPath, [BIN, 'version'], {
      encoding: 'utf8',
      env: { ...process.env, SKIFF_JS_CACHE: join(blocker, 'js') },
      timeout: 60_000,
    });
    expect(ran.status, ran.stderr).to.equal(0);
    expect(ran.stdout).to.contain('Kubernetes API v1.32.0');
    expect(ran.stderr).to.contain('running from the TypeScript sources, as .cache/js could not be built: ENOTDIR');
  });
});
