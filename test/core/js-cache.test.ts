/**
 * scripts/js-cache.mjs, the launcher's JavaScript copy of core/ and plugins/: built on a small tree
 * of its own, the copy runs under plain Node (no loader hooks), is rebuilt only where a source
 * changed, loses what was deleted, and resolves `skiff/sdk` into itself. The real launcher runs
 * from it in every test that spawns `skiff` (cli.test.ts and the e2e tests).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
// @ts-expect-error: a plain JavaScript module of the launcher, without type declarations
import { compileTree } from '../../scripts/js-cache.mjs';
import { tempDir } from '../helpers/temp-dirs.js';

interface Compiled {
  out: string;
  rebuilt: string[];
  removed: string[];
}
const compile = compileTree as (root: string, out?: string) => Promise<Compiled>;

const BIN = new URL('../../scripts/skiff.mjs', import.meta.url).pathname;

function write(root: string, file: string, text: string): void {
  mkdirSync(join(root, file, '..'), { recursive: true });
  writeFileSync(join(root, file), text);
}

/** A repository in miniature: a typed core module, an SDK entry, a plugin importing it by name, a data file. */
function smallTree(): string {
  const root = tempDir('skiff-js-cache-');
  write(root, 'package.json', JSON.stringify({ name: 'skiff', version: '9.9.9', type: 'module' }));
  write(root, 'tsconfig.json', '{}');
  write(root, 'config/default.yaml', 'server: {}\n');
  write(root, 'core/sdk/index.ts', "export const greet = (who: string): string => 'hello ' + who;\n");
  write(root, 'core/data.json', '{"answer":42}\n');
  write(
    root,
    'core/main.ts',
    [
      "import { readFileSync } from 'node:fs';",
      "import { greet } from './sdk/index.js';",
      'interface Data { answer: number }',
      "const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8')) as Data;",
      'console.log(greet(String(data.answer)));',
    ].join('\n'),
  );
  write(root, 'plugins/p/index.ts', "import { greet } from 'skiff/sdk';\nexport default greet('plugin') as string;\n");
  write(root, 'plugins/p/README.md', '# p\n');
  return root;
}

const runNode = (args: string[]) => spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });

describe('scripts/js-cache.mjs: the launcher runs a JavaScript copy', function () {
  this.timeout(30_000);

  it('transpiles every .ts to .js that plain Node runs, links data files and config/, skips READMEs', async () => {
    const root = smallTree();
    const { out, rebuilt } = await compile(root);
    expect(out).to.equal(join(root, '.cache', 'js'));
    expect(rebuilt).to.have.members(['core/sdk/index.ts', 'core/data.json', 'core/main.ts', 'plugins/p/index.ts']);
    const ran = runNode([join(out, 'core/main.js')]);
    expect(ran.stderr).to.equal('');
    expect(ran.stdout.trim()).to.equal('hello 42');
    expect(existsSync(join(out, 'plugins/p/README.md'))).to.equal(false);
    expect(readFileSync(join(out, 'config/default.yaml'), 'utf8')).to.equal('server: {}\n');
    // Linked, not copied: a path logged from the copy names the file a person would edit.
    expect(realpathSync(join(out, 'core/data.json'))).to.equal(realpathSync(join(root, 'core/data.json')));
    // The source map names the TypeScript file, so stack traces point at what a person edits.
    expect(readFileSync(join(out, 'core/main.js'), 'utf8')).to.contain('sourceMappingURL=data:application/json');
  });

  it('a plugin in the copy imports skiff/sdk from the copy itself (the package imports itself by name)', async () => {
    const root = smallTree();
    const { out } = await compile(root);
    const pkg = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8'));
    expect(pkg).to.deep.include({ name: 'skiff', version: '9.9.9', type: 'module' });
    const probe = `import(${JSON.stringify(join(out, 'plugins/p/index.js'))}).then((m) => console.log(m.default))`;
    expect(runNode(['--input-type=module', '-e', probe]).stdout.trim()).to.equal('hello plugin');
  });

  it('rebuilds only what changed, and removes the copy of a deleted source', async () => {
    const root = smallTree();
    const { out } = await compile(root);
    expect((await compile(root)).rebuilt).to.deep.equal([]);
    write(root, 'core/sdk/index.ts', "export const greet = (who: string): string => 'hi ' + who;\n");
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, 'core/sdk/index.ts'), later, later);
    expect((await compile(root)).rebuilt).to.deep.equal(['core/sdk/index.ts']);
    expect(runNode([join(out, 'core/main.js')]).stdout.trim()).to.equal('hi 42');
    rmSync(join(root, 'plugins/p'), { recursive: true });
    expect((await compile(root)).removed).to.deep.equal(['plugins/p/index.js']);
    expect(existsSync(join(out, 'plugins/p/index.js'))).to.equal(false);
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
    expect(existsSync(new URL('../../.cache/js/core/cli/main.js', import.meta.url))).to.equal(true);
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
