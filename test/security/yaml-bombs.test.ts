/**
 * Chapter: YAML bombs.
 *
 * The attack: a small YAML body that costs the server far more than it cost the sender. Aliases
 * that expand exponentially ("billion laughs": nine levels of ten references each, a few hundred
 * bytes that stand for 10^9 strings), nesting deep enough to exhaust the parser's stack, a body
 * larger than any object, a map whose every key the parser compares with every other (quadratic
 * time), and parser differentials: duplicate keys or a second document that a human reviewer reads
 * one way and the server another; tags that some YAML libraries turn into code.
 *
 * The upstream defence: kube-apiserver converts YAML to JSON with sigs.k8s.io/yaml (go-yaml), which
 * caps alias expansion and nesting depth, and refuses bodies over 3 MiB (413) before decoding; the
 * request is authorized before the body is read; a key given twice is reported by line (a warning
 * by default, a 400 with fieldValidation=Strict, which kubectl sends).
 *
 * Where Skiff implements it: core/server/http-app.ts (authorization runs before the body is read);
 * core/server/body.ts (readBody: the size limit, server.maxRequestBodyBytes, default 3 MiB, checked
 * on Content-Length and while streaming; parseYaml: the `yaml` library's default maxAliasCount of
 * 100, one document, duplicate keys found in one linear pass instead of the library's pairwise
 * check; parse errors, stack overflows included, become a 400 Status). Tags are resolved to plain
 * data only: nothing is ever constructed from them.
 */
import { expect } from 'chai';
import { type HttpsAnswer, httpsRequest, type Scratch, scratchDir, tokenLine } from '../helpers/security.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
const YAML = 'application/yaml';
const NOT_YAML = 'the request body is not valid YAML: ';

/** A ConfigMap whose data value is nine levels of ten aliases each: 10^9 "lol"s once expanded. */
function billionLaughs(name: string): string {
  const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', `  name: ${name}`, 'l0: &l0 "lol"'];
  for (let i = 1; i <= 9; i++)
    lines.push(
      `l${i}: &l${i} [${Array(10)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  lines.push('data:', '  lols: *l9');
  return `${lines.join('\n')}\n`;
}

/**
 * The `yaml` library reports each unresolved tag through process.emitWarning, which prints to the
 * (shared) test process's stderr; swallow those while `run` runs, pass anything else on.
 */
async function withoutYamlWarnings<T>(run: () => Promise<T>): Promise<T> {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (warning instanceof Error && warning.name === 'YAMLWarning') return;
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return await run();
  } finally {
    process.emitWarning = emit;
  }
}

const configMap = (name: string, rest = '') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${rest}`;

function expectBadYaml(r: HttpsAnswer, what: string, detail: string): void {
  expect(r.status, `${what}: ${r.text.slice(0, 300)}`).to.equal(400);
  expect(r.body, what).to.include({ kind: 'Status', reason: 'BadRequest', code: 400 });
  expect(r.body.message, what).to.contain(NOT_YAML).and.contain(detail);
}

describe('security: YAML bombs are refused cheaply and the server stays up', function () {
  this.timeout(30_000);
  let ts: TestServer;
  let files: Scratch;

  before(async () => {
    files = scratchDir('yaml-bombs');
    const tokens = tokenLine('root-token', 'root', '1', ['system:masters']) + tokenLine('nobody-token', 'nobody', '2');
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-token-file': { config: { tokenAuthFile: files.file('tokens.csv', tokens) } },
        'authz-always-deny': {},
      },
    });
  });
  after(async () => {
    await ts?.close();
    files?.remove();
  });

  const send = (body: string, options: Parameters<typeof httpsRequest>[2] = {}) =>
    httpsRequest(ts, CONFIGMAPS, {
      token: 'root-token',
      method: 'POST',
      body,
      contentType: YAML,
      timeoutMs: 10_000,
      ...options,
    });
  async function expectServing(): Promise<void> {
    expect((await httpsRequest(ts, '/readyz', { token: 'root-token' })).status).to.equal(200);
    const after = await send(configMap(`alive-${Date.now()}`, 'data:\n  ok: "yes"\n'));
    expect(after.status, after.text).to.equal(201);
  }

  it('baseline: a few aliases are fine (anchors are part of YAML, only their expansion is bounded)', async () => {
    const r = await send(configMap('anchors', 'data:\n  a: &v "same"\n  b: *v\n'));
    expect(r.status, r.text).to.equal(201);
    expect(r.body.data).to.deep.equal({ a: 'same', b: 'same' });
  });

  it('billion laughs as a create (POST application/yaml) → 400 "Excessive alias count", the server keeps serving', async () => {
    expectBadYaml(await send(billionLaughs('lol')), 'create', 'Excessive alias count');
    await expectServing();
  });

  it('billion laughs as a server-side apply (PATCH application/apply-patch+yaml) → 400', async () => {
    const r = await httpsRequest(ts, `${CONFIGMAPS}/lol?fieldManager=attacker`, {
      token: 'root-token',
      method: 'PATCH',
      body: billionLaughs('lol'),
      contentType: 'application/apply-patch+yaml',
      timeoutMs: 10_000,
    });
    expectBadYaml(r, 'apply', 'Excessive alias count');
    await expectServing();
  });

  it('nesting deep enough to exhaust the parser (20 000 flow levels, 1 000 block levels) → 400, no crash', async () => {
    const flow = configMap('deep', `data: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
    const block = configMap(
      'deep',
      `data:\n${Array.from({ length: 1000 }, (_, i) => `${' '.repeat(i + 2)}k:`).join('\n')} v\n`,
    );
    for (const [what, body] of [
      ['flow', flow],
      ['block', block],
    ]) {
      const r = await send(body!);
      expect(r.status, `${what}: ${r.text.slice(0, 200)}`).to.equal(400);
      expect(r.body.message, what).to.contain(NOT_YAML);
    }
    await expectServing();
  });

  it('a body over the 3 MiB limit → 413 RequestEntityTooLarge, declared or streamed in chunks', async () => {
    const huge = configMap('huge', `data:\n  k: "${'x'.repeat(4 * 1024 * 1024)}"\n`);
    const declared = await send(huge);
    const chunked = await send(huge, { headers: { 'Transfer-Encoding': 'chunked' } });
    for (const r of [declared, chunked]) {
      expect(r.status, r.text.slice(0, 200)).to.equal(413);
      expect(r.body).to.include({ reason: 'RequestEntityTooLarge', code: 413 });
    }
    await expectServing();
  });

  it('parser differentials: a key given twice → 400 with fieldValidation=Strict (what kubectl sends), a second hidden document → 400; nothing created', async () => {
    const dup = configMap('dup', '  name: other\n');
    const strict = await httpsRequest(ts, `${CONFIGMAPS}?fieldValidation=Strict`, {
      token: 'root-token',
      method: 'POST',
      body: dup,
      contentType: YAML,
    });
    expect(strict.status, strict.text).to.equal(400);
    expect(strict.body.message).to.equal(
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: yaml: unmarshal errors:\n  line 5: key "name" already set in map',
    );
    const twoDocs = `${configMap('first')}---\n${configMap('second')}`;
    expectBadYaml(await send(twoDocs), 'two documents', 'multiple documents');
    for (const name of ['dup', 'other', 'first', 'second']) {
      expect((await httpsRequest(ts, `${CONFIGMAPS}/${name}`, { token: 'root-token' })).status, name).to.equal(404);
    }
  });

  it('parser differentials: without Strict, a key given twice is named in a warning with its line, and the value used is the one it names (the last), as upstream', async () => {
    const r = await send(configMap('shown', '  name: used\n'));
    expect(r.status, r.text).to.equal(201);
    expect(r.body.metadata.name).to.equal('used');
    expect(r.headers.warning).to.equal('299 - "line 5: key \\"name\\" already set in map"');
  });

  it('language tags (!!js/function, !!python/object/apply) are never executed: stored as the plain strings they tag', async () => {
    const tagged = configMap(
      'tags',
      'data:\n  js: !!js/function "function () { process.exit(1) }"\n  py: !!python/object/apply:os.system "id"\n',
    );
    const r = await withoutYamlWarnings(() => send(tagged));
    expect(r.status, r.text).to.equal(201);
    expect(r.body.data).to.deep.equal({ js: 'function () { process.exit(1) }', py: 'id' });
    await expectServing();
  });

  // The `yaml` library's own unique-keys check compares each key with every earlier one (quadratic),
  // synchronously: 50 000 keys (0.6 MB) held the event loop for about 14 s, 100 000 keys (1.2 MB) for
  // about 2 minutes, and every other request (health checks included) waited. Skiff parses with
  // uniqueKeys: false and finds duplicates in one pass. (The server shares this process, so the time
  // of the request is the time the server was stalled.)
  it('a 50 000-key YAML map (0.6 MB, under the limit) is answered in linear time, not after a stall', async function () {
    this.timeout(120_000);
    const keys = Array.from({ length: 50_000 }, (_, i) => `k${i}`);
    const timed = async (body: string, contentType: string) => {
      const started = Date.now();
      const r = await send(body, { contentType, timeoutMs: 120_000 });
      expect(r.status, r.text.slice(0, 200)).to.equal(201);
      return Date.now() - started;
    };
    const json = await timed(
      JSON.stringify({ metadata: { name: 'many-json' }, data: Object.fromEntries(keys.map((k) => [k, 'v'])) }),
      'application/json',
    );
    const yaml = await timed(configMap('many-yaml', `data:\n${keys.map((k) => `  ${k}: v`).join('\n')}\n`), YAML);
    expect(yaml, `ms for the YAML map (the JSON one: ${json} ms)`).to.be.below(5_000);
  });

  // The request is authorized (core/server/http-app.ts, after authentication and the in-flight
  // slot) before its body is read, as upstream's filter chain: a user with no rights gets 403, never
  // the parser's 400, and cannot make the server parse anything.
  it('a YAML bomb from a user who may create nothing → 403 Forbidden, before the body is parsed', async () => {
    const r = await send(billionLaughs('lol'), { token: 'nobody-token' });
    expect(r.status, r.text).to.equal(403);
    expect(r.body.message).to.equal(
      'configmaps is forbidden: User "nobody" cannot create resource "configmaps" in API group "" in the namespace "default": Everything is forbidden.',
    );
  });
});
