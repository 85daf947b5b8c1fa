/**
 * The architecture's boundaries, checked by reading the sources (imports parsed with TypeScript,
 * type-only and dynamic ones included): plugins use only the SDK, core never reaches into plugins,
 * core has no import cycle, and core names no built-in plugin. A plugin that needs something core
 * does not export through skiff/sdk... fails here: export it from core/sdk/ instead. Core stays made of
 * small pieces: no core file over 400 lines, no function over 60 (50 is the aim).
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
 * Core literals that may name a built-in plugin (file: literal). None: a missing service's error
 * names its providers from their manifests (`provides`), not from core.
 */
const NAMED_PROVIDERS = new Set<string>();

/**
 * Core literals spelled like a built-in plugin that name something else (file: literal → what it
 * names). The controller manager's client certificate keeps the file name it had before the
 * controller manager became a plugin (<data-dir>/pki/controller-manager.crt), so data directories
 * and kubeconfigs made earlier keep working.
 */
const NOT_A_PLUGIN = new Map<string, string>([
  ['core/auth/pki.ts: controller-manager', "CONTROLLER_MANAGER_IDENTITY's certificate file name"],
]);

/**
 * Core's layers, from the bottom: errors and utilities, the storage contract, the API machinery,
 * clients, the server, the plugin host and config, the CLI; the SDK on top. Each rule: the folder
 * (relative to core/) and the folders it must not import, because they sit above it.
 */
const LAYER_RULES: [string, string[]][] = [
  ['storage', ['api', 'auth', 'client', 'server', 'plugins', 'config', 'cli', 'sdk']],
  ['api', ['client', 'server', 'plugins', 'config', 'cli', 'sdk']],
  ['client', ['server', 'config', 'cli', 'sdk']],
  ['server', ['cli', 'sdk']],
  ['config', ['cli', 'sdk']],
  ['plugins', ['cli', 'sdk']],
];

/** Core files (path) or functions (path#name) allowed over the size limits, each with its reason. */
const OVER_SIZE = new Map<string, string>();

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 60;

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
function pluginImportProblem(
  file: string,
  pluginDir: string,
  specifier: string,
  packages: ReadonlySet<string> = dependencies,
): string | undefined {
  if (specifier.startsWith('.')) {
    return inside(resolveRelative(file, specifier), pluginDir) ? undefined : 'reaches outside its own folder';
  }
  if (specifier === 'skiff/sdk' || sdkModules.has(specifier)) return undefined;
  if (specifier.startsWith('skiff/')) return 'is not an SDK module (skiff/sdk or skiff/sdk/<module>)';
  if (specifier.startsWith('node:') || builtinModules.includes(specifier)) return undefined;
  return packages.has(packageOf(specifier)) ? undefined : "is not a dependency in package.json's dependencies";
}

const EXAMPLES = join(ROOT, 'config', 'examples', 'plugins');

/**
 * The example plugins are what a third party writes in a folder of its own: the SDK, node: built-ins
 * and the packages its own package.json names (a type-only devDependency included). Their tests may
 * use the repository's test helpers; the plugins may not.
 */
function exampleViolations(example: string): string[] {
  const dir = join(EXAMPLES, example);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, object | undefined>;
  const declared = new Set(
    ['dependencies', 'peerDependencies', 'devDependencies'].flatMap((k) => Object.keys(manifest[k] ?? {})),
  );
  return tsFiles(dir)
    .filter((file) => !inside(file, join(dir, 'test')))
    .flatMap((file) =>
      importsOf(parse(file)).flatMap((specifier) => {
        const problem = pluginImportProblem(file, dir, specifier, declared);
        return problem ? [`${relative(ROOT, file)}: '${specifier}' ${problem}`] : [];
      }),
    );
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

const lineOf = (source: ts.SourceFile, pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1;

/** What a function is called where it is written: its own name, or the variable/property/argument holding it. */
function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (node.name) return node.name.getText(source);
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) && parent.name) {
    return parent.name.getText(source);
  }
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  return `<function at line ${lineOf(source, node.getStart(source))}>`;
}

/** Every function, method, accessor and arrow function with a body longer than `max` lines (signature included). */
function longFunctions(source: ts.SourceFile, max: number): { name: string; lines: number }[] {
  const found: { name: string; lines: number }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && (node as ts.FunctionLikeDeclaration).body) {
      const lines = lineOf(source, node.getEnd()) - lineOf(source, node.getStart(source)) + 1;
      if (lines > max) found.push({ name: functionName(node as ts.FunctionLikeDeclaration, source), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const lineCount = (file: string) => readFileSync(file, 'utf8').split('\n').length - 1;

describe('architecture boundaries (issue 18)', () => {
  it('every migrated plugin imports only its own folder, skiff/sdk..., node: built-ins and its npm dependencies', () => {
    const problems = builtInPlugins.filter((p) => !NOT_YET_MIGRATED.has(p)).flatMap(pluginViolations);
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('the example plugins import only skiff/sdk..., node: built-ins and what their own package.json names', () => {
    const examples = readdirSync(EXAMPLES).filter((d) => existsSync(join(EXAMPLES, d, 'index.ts')));
    expect(examples).to.have.length.greaterThan(3);
    const problems = examples.flatMap(exampleViolations);
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
    // An example plugin's own package.json decides which packages it may use.
    expect(pluginImportProblem(file, dir, 'kubernetes-types/core/v1.js', new Set(['kubernetes-types']))).to.equal(
      undefined,
    );
    expect(pluginImportProblem(file, dir, 'yaml', new Set(['kubernetes-types']))).to.match(/not a dependency/);
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
    const excused = (key: string) => NAMED_PROVIDERS.has(key) || NOT_A_PLUGIN.has(key);
    const name = new RegExp(`(?<![a-z0-9-])(${builtInPlugins.join('|')})(?![a-z0-9-])`);
    const problems = coreFiles.flatMap((file) =>
      literals(parse(file))
        .filter((l) => name.test(l.text) && !excused(`${relative(ROOT, file)}: ${l.text}`))
        .map((l) => `${relative(ROOT, file)}:${l.line}: ${JSON.stringify(l.text)}`),
    );
    expect(builtInPlugins).to.include('authz-abac');
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('core imports only go downwards: no layer imports one above it', () => {
    const graph = coreGraph();
    const folderOf = (file: string) => relative(CORE, file).split(sep)[0]!;
    const problems = LAYER_RULES.flatMap(([layer, above]) =>
      [...graph]
        .filter(([file]) => folderOf(file) === layer)
        .flatMap(([file, targets]) =>
          targets
            .filter((t) => above.includes(folderOf(t)))
            .map((t) => `${relative(ROOT, file)} -> ${relative(ROOT, t)}`),
        ),
    );
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it(`no core file is longer than ${MAX_FILE_LINES} lines`, () => {
    const problems = coreFiles
      .filter((file) => lineCount(file) > MAX_FILE_LINES && !OVER_SIZE.has(relative(ROOT, file)))
      .map((file) => `${relative(ROOT, file)}: ${lineCount(file)} lines`);
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it(`no function in core is longer than ${MAX_FUNCTION_LINES} lines (the aim is 50)`, () => {
    const problems = coreFiles.flatMap((file) =>
      longFunctions(parse(file), MAX_FUNCTION_LINES)
        .map((f) => ({ ...f, at: `${relative(ROOT, file)}#${f.name}` }))
        .filter((f) => !OVER_SIZE.has(f.at))
        .map((f) => `${f.at}: ${f.lines} lines`),
    );
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('OVER_SIZE lists only what is still over a limit, each with a reason', () => {
    const over = new Set([
      ...coreFiles.filter((f) => lineCount(f) > MAX_FILE_LINES).map((f) => relative(ROOT, f)),
      ...coreFiles.flatMap((f) =>
        longFunctions(parse(f), MAX_FUNCTION_LINES).map((fn) => `${relative(ROOT, f)}#${fn.name}`),
      ),
    ]);
    const stale = [...OVER_SIZE].filter(([at, reason]) => !over.has(at) || !reason.trim()).map(([at]) => at);
    expect(stale, `remove from OVER_SIZE (or give a reason): ${stale.join(', ')}`).to.deep.equal([]);
  });

  it('the size checker measures every kind of function, named as written', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = [
      `export function declared() {\n${body(3)}\n}`,
      `const arrow = () => {\n${body(3)}\n};`,
      `class C {\n  method() {\n${body(3)}\n  }\n  get accessor() {\n${body(3)}\n    return 1;\n  }\n}`,
      `const o = { property: function () {\n${body(3)}\n} };`,
      `call(() => {\n${body(3)}\n});`,
      'export function short() {\n  return 1;\n}',
    ].join('\n');
    const source = ts.createSourceFile('x.ts', text, ts.ScriptTarget.ES2022, true);
    expect(longFunctions(source, 4).map((f) => `${f.name}: ${f.lines}`)).to.deep.equal([
      'declared: 5',
      'arrow: 5',
      'method: 5',
      'accessor: 6',
      'property: 5',
      '<function at line 29>: 5',
    ]);
  });
});
