/**
 * The launcher's compiled copy of core/ and plugins/, under .cache/js/<build>: esbuild bundles the
 * TypeScript and most npm packages into about a hundred ES modules (code splitting) beside links to
 * the files read at run time (api-schema.json, roles.yaml, images/*.mjs). Node's module loader costs
 * about a millisecond per module: loading Skiff's ~550 source modules and its packages' ~490 files
 * one by one (through tsx's hooks, or even transpiled) was over a second of every start.
 *
 * A build is named after the sources it was made from (their paths, sizes and times, and the
 * installed packages): editing a file or reinstalling packages and starting again makes a new build; starting again unchanged reuses it. Builds are made in
 * a folder of their own and renamed into place, so processes starting at once never see half a
 * build, and a process still running from an older build keeps it: the newest few are kept.
 *
 * Imports keep working unchanged: the entry points (core/cli/main.js, every plugins/<name>/index.js,
 * every core/sdk/<subpath>.js) sit where the transpiled files would; `skiff/sdk` resolves through the
 * build's own package.json (a package may import itself by name) to the same modules core uses;
 * `import.meta.url` in a source is the URL its own file would have in the build, so the data files
 * it reads beside itself are found; config/ is linked, not copied.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const TREES = ['core', 'plugins'];
const SKIPPED = new Set(['node_modules', 'test']);
/** Builds kept besides the current one, for processes still running from them (they import lazily). */
const KEPT_BUILDS = 3;

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

/**
 * The build's name: a hash of what it is made from (every source's path, size and time, and this
 * script), and of the installed packages it bundles: npm rewrites node_modules/.package-lock.json
 * whenever it changes node_modules, so an `npm ci` after a pull makes a new build too.
 */
function buildName(root, sources) {
  const hash = createHash('sha256');
  for (const file of [...sources, 'package.json', 'node_modules/.package-lock.json']) {
    if (!existsSync(join(root, file))) continue;
    const { size, mtimeMs } = statSync(join(root, file));
    hash.update(`${file}\0${size}\0${mtimeMs}\n`);
  }
  hash.update(readFileSync(new URL(import.meta.url)));
  return hash.digest('hex').slice(0, 16);
}

/** The modules loaded by path: the CLI, each plugin's index, each SDK subpath (for plugins outside). */
function entryPoints(sources) {
  return sources.filter(
    (f) => f === 'core/cli/main.ts' || /^core\/sdk\/[^/]+\.ts$/.test(f) || /^plugins\/[^/]+\/index\.ts$/.test(f),
  );
}

/** Each source's `import.meta.url` becomes its own file's URL in the build (a bundled chunk's would not find its data files). */
function ownUrls(root, build) {
  return {
    name: 'skiff-own-urls',
    setup(esbuild) {
      esbuild.onLoad({ filter: /\.ts$/ }, (args) => {
        const file = relative(root, args.path);
        const url = pathToFileURL(join(build, file.replace(/\.ts$/, '.js'))).href;
        return {
          contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(url)),
          loader: 'ts',
        };
      });
    },
  };
}

/**
 * npm packages are bundled too: loading ~490 of their CommonJS files one by one was a third of a
 * second of every start. These stay outside, imported as they are:
 * - `skiff` itself: a plugin's `skiff/sdk` is resolved when it runs, through the build's
 *   package.json, to the very modules core uses;
 * - better-sqlite3 loads a native addon by path, pino starts its workers from files by path, tsx
 *   registers loader hooks by file, and ws asks for its optional native helpers;
 * - etcd3 (gRPC, protobufs) is imported only when storage-etcd is chosen.
 * A plugin outside the repository that imports a bundled package itself gets its own copy: what
 * crosses between it and Skiff (zod schemas, Koa contexts, commander commands) is used by its
 * shape, and the `z` it takes from skiff/sdk is the bundled one.
 */
const EXTERNAL_PACKAGES = ['skiff', 'better-sqlite3', 'pino', 'etcd3', 'tsx', 'bufferutil', 'utf-8-validate'];

/** Bundled CommonJS calls require(); an ES module has none, so each output file makes its own. */
const REQUIRE_SHIM =
  "import { createRequire as __skiffRequire } from 'node:module'; const require = __skiffRequire(import.meta.url);";

async function bundle(root, sources, into, final) {
  const { build } = await import('esbuild');
  await build({
    absWorkingDir: root,
    entryPoints: entryPoints(sources),
    outdir: into,
    outbase: root,
    entryNames: '[dir]/[name]',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL_PACKAGES,
    banner: { js: REQUIRE_SHIM },
    // Stack traces name the TypeScript lines (the launcher turns source maps on); the maps leave the
    // sources' text out, which Node would otherwise keep in memory for every bundled package.
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'silent',
    plugins: [ownUrls(root, final)],
  });
}

/** A data file is linked, not copied: a path logged from the copy then names what a person may edit. */
function linkAsset(root, file, build) {
  const target = join(build, file);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(relative(dirname(target), join(root, file)), target);
}

/** The build's package.json (the name and `exports` that `skiff/sdk` resolves through) and tsconfig.json (for tsx, which plugins loaded by path still go through). */
function writeScaffolding(root, build) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const exports = { './sdk': './core/sdk/index.js', './sdk/*': './core/sdk/*.js' };
  writeFileSync(
    join(build, 'package.json'),
    JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', exports }, null, 2),
  );
  const tsconfig = {
    extends: relative(build, join(root, 'tsconfig.json')),
    compilerOptions: {
      baseUrl: '.',
      paths: { 'skiff/sdk': ['./core/sdk/index.js'], 'skiff/sdk/*': ['./core/sdk/*.js'] },
    },
  };
  writeFileSync(join(build, 'tsconfig.json'), JSON.stringify(tsconfig));
  symlinkSync(relative(build, join(root, 'config')), join(build, 'config'));
}

/** Builds other than `keep`, oldest first; an unfinished one (`.tmp`) only once it is an hour old. */
function pruneBuilds(cache, keep) {
  const hour = Date.now() - 3600_000;
  const builds = readdirSync(cache, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== keep)
    .map((e) => ({
      path: join(cache, e.name),
      tmp: e.name.endsWith('.tmp'),
      mtime: statSync(join(cache, e.name)).mtimeMs,
    }));
  const finished = builds.filter((b) => !b.tmp).sort((a, b) => b.mtime - a.mtime);
  const stale = [...finished.slice(KEPT_BUILDS), ...builds.filter((b) => b.tmp && b.mtime < hour)];
  for (const b of stale) rmSync(b.path, { recursive: true, force: true });
}

/**
 * Makes sure a build of root's core/ and plugins/ exists under `cache` (default:
 * <root>/.cache/js); returns its folder and whether this call made it.
 */
export async function compileTree(root, cache = join(root, '.cache', 'js')) {
  const sources = TREES.flatMap((tree) => filesUnder(root, tree)).sort();
  const name = buildName(root, sources);
  const out = join(cache, name);
  if (existsSync(join(out, 'package.json'))) {
    // Marks it recently used, so pruning keeps it.
    utimesSync(out, new Date(), new Date());
    return { out, built: false };
  }
  mkdirSync(cache, { recursive: true });
  const temporary = `${out}.${process.pid}.tmp`;
  rmSync(temporary, { recursive: true, force: true });
  try {
    await bundle(
      root,
      sources.filter((f) => f.endsWith('.ts')),
      temporary,
      out,
    );
    for (const file of sources.filter((f) => !f.endsWith('.ts'))) linkAsset(root, file, temporary);
    writeScaffolding(root, temporary);
    // Only a whole build is ever found under its name.
    renameSync(temporary, out);
  } catch (err) {
    rmSync(temporary, { recursive: true, force: true });
    // Another process starting at the same time put the same build in place first: use it.
    if (!existsSync(join(out, 'package.json'))) throw err;
    return { out, built: false };
  }
  pruneBuilds(cache, name);
  return { out, built: true };
}
