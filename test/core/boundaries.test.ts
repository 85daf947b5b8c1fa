/**
 * The architecture's boundaries, checked by reading the sources (imports parsed with TypeScript,
 * type-only and dynamic ones included): plugins use only the SDK, core never reaches into plugins,
 * core has no import cycle, and core names no built-in plugin. A plugin that needs something core
 * does not export through skiff/sdk... fails here: export it from core/sdk/ instead.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const CORE = join(ROOT, 'core');
const PLUGINS = join(ROOT, 'plugins');

/**
 * Built-in plugins still importing core internals, moved onto the SDK in the next step of issue 18
 * (storage backends, api-core-v1). Empty this set as each one moves: the test fails for a plugin
 * listed here that no longer needs to be.
 */
const NOT_YET_MIGRATED = new Set<string>();

/**
 * Core literals that may name a built-in plugin (file: literal). A service key core uses names the
 * plugin that usually provides it, so the missing-provider error can tell the operator which one to
 * enable: LEADER_ELECTION (the controller manager's --leader-elect).
 */
const NAMED_PROVIDERS = new Set(['core/client/leader-election.ts: leader-election-lease']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'node_modules' ? [] : tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** Every module a file names: import/export declarations (type-only too), import() and import types. */
function importsOf(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      found.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      found.push((node.argument.literal as ts.StringLiteral).text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const resolveRelative = (file: string, specifier: string) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
const inside = (path: string, dir: string) => path === dir || path.startsWith(dir + sep);

const dependencies = new Set(
  Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: object }).dependencies),
);
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');
const sdkModules = new Set(
  readdirSync(join(CORE, 'sdk'))
    .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
    .map((f) => `skiff/sdk/${f.replace(/\.ts$/, '')}`),
);

/** Why a plugin file may not import `specifier`, or undefined when it may. */
function pluginImportProblem(file: string, pluginDir: string, specifier: string): string | undefined {
  if (specifier.startsWith('.')) {
    return inside(resolveRelative(file, specifier), pluginDir) ? undefined : 'reaches outside its own folder';
  }
  if (specifier === 'skiff/sdk' || sdkModules.has(specifier)) return undefined;
  if (specifier.startsWith('skiff/')) return 'is not an SDK module (skiff/sdk or skiff/sdk/<module>)';
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) return undefined;
  return dependencies.has(packageOf(specifier)) ? undefined : "is not a dependency in package.json's dependencies";
}

function pluginViolations(plugin: string): string[] {
  const dir = join(PLUGINS, plugin);
  return tsFiles(dir).flatMap((file) =>
    importsOf(parse(file)).flatMap((specifier) => {
      const problem = pluginImportProblem(file, dir, specifier);
      return problem ? [`${relative(ROOT, file)}: '${specifier}' ${problem}`] : [];
    }),
  );
}

const builtInPlugins = readdirSync(PLUGINS).filter((d) => existsSync(join(PLUGINS, d, 'index.ts')));
const coreFiles = tsFiles(CORE);

/** The import graph of core: file → the core files it imports (type-only included). */
function coreGraph(): Map<string, string[]> {
  return new Map(
    coreFiles.map((file) => [
      file,
      importsOf(parse(file))
        .filter((s) => s.startsWith('.'))
        .map((s) => resolveRelative(file, s))
        .filter((target) => inside(target, CORE)),
    ]),
  );
}

/** Every cycle a depth-first walk meets, as "a -> b -> a". */
function cycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const found: string[] = [];
  const walk = (file: string, trail: string[]) => {
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') {
        found.push([...trail.slice(trail.indexOf(next)), file, next].map((f) => relative(CORE, f)).join(' -> '));
      } else if (!state.has(next)) {
        walk(next, [...trail, file]);
      }
    }
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) walk(file, []);
  return found;
}

/** The text of every string literal and template part in a file (comments are not literals). */
function literals(source: ts.SourceFile): { text: string; line: number }[] {
  const found: { text: string; line: number }[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isStringLiteralLike(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      found.push({ text: (node as ts.LiteralLikeNode).text, line });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('architecture boundaries (issue 18)', () => {
  it('every migrated plugin imports only its own folder, skiff/sdk..., node: built-ins and its npm dependencies', () => {
    const problems = builtInPlugins.filter((p) => !NOT_YET_MIGRATED.has(p)).flatMap(pluginViolations);
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('NOT_YET_MIGRATED lists only plugins that still import core internals', () => {
    const done = [...NOT_YET_MIGRATED].filter((p) => !builtInPlugins.includes(p) || pluginViolations(p).length === 0);
    expect(done, `remove from NOT_YET_MIGRATED: ${done.join(', ')}`).to.deep.equal([]);
  });

  it('the checker itself refuses what the rule forbids', () => {
    const dir = join(PLUGINS, 'authz-abac');
    const file = join(dir, 'index.ts');
    expect(pluginImportProblem(file, dir, '../../core/errors.js')).to.equal('reaches outside its own folder');
    expect(pluginImportProblem(file, dir, '../authn-x509/verify.js')).to.equal('reaches outside its own folder');
    expect(pluginImportProblem(file, dir, 'skiff/sdk/nope')).to.match(/not an SDK module/);
    expect(pluginImportProblem(file, dir, 'left-pad')).to.match(/not a dependency/);
    for (const ok of ['./load.js', 'skiff/sdk', 'skiff/sdk/auth', 'node:fs', 'zod', 'yaml']) {
      expect(pluginImportProblem(file, dir, ok), ok).to.equal(undefined);
    }
  });

  it('no core file imports anything under plugins/', () => {
    const problems = coreFiles.flatMap((file) =>
      importsOf(parse(file))
        .filter((s) => s.startsWith('.') && inside(resolveRelative(file, s), PLUGINS))
        .map((s) => `${relative(ROOT, file)}: '${s}'`),
    );
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('core has no import cycle (type-only imports count)', () => {
    const graph = coreGraph();
    expect(graph.size).to.be.greaterThan(50);
    expect(cycles(graph)).to.deep.equal([]);
    // The walk finds a cycle when there is one.
    const a = join(CORE, 'a.ts');
    const b = join(CORE, 'b.ts');
    expect(
      cycles(
        new Map([
          [a, [b]],
          [b, [a]],
        ]),
      ),
    ).to.deep.equal(['a.ts -> b.ts -> a.ts']);
  });

  it('no string literal in core names a built-in plugin (comments may)', () => {
    const name = new RegExp(`(?<![a-z0-9-])(${builtInPlugins.join('|')})(?![a-z0-9-])`);
    const problems = coreFiles.flatMap((file) =>
      literals(parse(file))
        .filter((l) => name.test(l.text) && !NAMED_PROVIDERS.has(`${relative(ROOT, file)}: ${l.text}`))
        .map((l) => `${relative(ROOT, file)}:${l.line}: ${JSON.stringify(l.text)}`),
    );
    expect(builtInPlugins).to.include('authz-abac');
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });
});
