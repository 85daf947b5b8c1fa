/**
 * The launcher's compiled copy of core/ and plugins/ under .cache/js: every TypeScript file
 * transpiled by esbuild (types stripped, nothing bundled, an inline source map), beside links to
 * the files read at run time (api-schema.json, roles.yaml, images/*.mjs). Loading Skiff's ~550
 * modules through tsx's loader hooks cost a second or more on every start; from here Node loads
 * them as they are. A copy is rebuilt when its source is newer and removed when its source is
 * gone, so editing a .ts file and starting again just works. SKIFF_FROM_SOURCE=1 skips all this.
 *
 * Imports keep working unchanged: the sources already import `./x.js`; `skiff/sdk` resolves through
 * the copy's own package.json (a package may import itself by name); config/ is linked, not copied.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';

const TREES = ['core', 'plugins'];
const SKIPPED = new Set(['node_modules', 'test']);
const copyName = (file) => file.replace(/\.ts$/, '.js');

/** Every file under `dir` (relative to `root`), README.md and skipped folders apart. */
function filesUnder(root, dir, found = []) {
  if (!existsSync(join(root, dir))) return found;
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED.has(entry.name)) filesUnder(root, path, found);
    } else if (entry.name !== 'README.md') found.push(path);
  }
  return found;
}

const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : -1);

/** Written under a name of its own, then renamed: a process starting beside this one never reads half a file. */
function writeAtomically(path, content) {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}

async function transpile(root, file, out) {
  const { transform } = await import('esbuild');
  const source = readFileSync(join(root, file), 'utf8');
  const result = await transform(source, {
    loader: 'ts',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: join(root, file),
  });
  writeAtomically(join(out, copyName(file)), result.code);
}

/** A data file is linked, not copied: a path logged from the copy then names what a person may edit. */
function linkAsset(root, file, out) {
  const target = join(out, file);
  mkdirSync(dirname(target), { recursive: true });
  const temporary = `${target}.${process.pid}.tmp`;
  symlinkSync(relative(dirname(target), join(root, file)), temporary);
  renameSync(temporary, target);
}

/** The copy's package.json (the name and `exports` that `skiff/sdk` resolves through) and tsconfig.json (for tsx, which plugins loaded by path still go through). */
function writeScaffolding(root, out) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const exports = { './sdk': './core/sdk/index.js', './sdk/*': './core/sdk/*.js' };
  const manifest = JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', exports }, null, 2);
  if (!existsSync(join(out, 'package.json')) || readFileSync(join(out, 'package.json'), 'utf8') !== manifest)
    writeAtomically(join(out, 'package.json'), manifest);
  const tsconfig = JSON.stringify({
    extends: relative(out, join(root, 'tsconfig.json')),
    compilerOptions: {
      baseUrl: '.',
      paths: { 'skiff/sdk': ['./core/sdk/index.js'], 'skiff/sdk/*': ['./core/sdk/*.js'] },
    },
  });
  if (!existsSync(join(out, 'tsconfig.json')) || readFileSync(join(out, 'tsconfig.json'), 'utf8') !== tsconfig)
    writeAtomically(join(out, 'tsconfig.json'), tsconfig);
  if (!existsSync(join(out, 'config'))) {
    try {
      symlinkSync(relative(out, join(root, 'config')), join(out, 'config'));
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
  }
}

/**
 * Brings `out` (default: <root>/.cache/js) up to date with root's core/ and plugins/; returns
 * what it did, so a test can tell a fresh copy from a rebuilt one.
 */
export async function compileTree(root, out = join(root, '.cache', 'js')) {
  const sources = TREES.flatMap((tree) => filesUnder(root, tree));
  const wanted = new Set(sources.map(copyName));
  const stale = sources.filter((file) => mtime(join(root, file)) > mtime(join(out, copyName(file))));
  // Every write settles before a failure is reported, so none is left to fail unobserved.
  const settled = await Promise.allSettled(
    stale.map(async (file) => (file.endsWith('.ts') ? transpile(root, file, out) : linkAsset(root, file, out))),
  );
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  // A .tmp file may be another process's write in flight.
  const removed = TREES.flatMap((tree) => filesUnder(out, tree)).filter(
    (file) => !wanted.has(file) && !file.endsWith('.tmp'),
  );
  for (const file of removed) rmSync(join(out, file), { force: true });
  writeScaffolding(root, out);
  return { out, rebuilt: stale, removed };
}
