/**
 * Chapter: hostile input that reached JavaScript's internals.
 *
 * The attack: bodies and query parameters no real client sends, made to hit the places where the
 * server's own code recurses, indexes or trusts a shape: a patch nested 50 000 levels deep (every
 * recursive walk overflows the stack), JSON patch operations that move an object into itself or
 * walk through "__proto__" and "toString" (prototype pollution, a TypeError), a copy that doubles
 * an object a dozen times, a strategic merge list of tens of thousands of elements (quadratic
 * work holds the event loop), and reads at a resourceVersion from the future. A 500 with
 * "Maximum call stack size exceeded" or a TypeError tells the attacker where to push, and a
 * poisoned prototype or a stalled event loop reaches every other client.
 *
 * Why it fails (upstream's answers, core/api/depth.ts, patch.ts, store/reader.ts, the api-patch-* plugins):
 * - Depth: upstream's decoders refuse JSON/YAML nested past 10000 levels; Skiff refuses bodies
 *   past 1000 (Node's stack is fixed, V8's own JSON.stringify overflows near 4000) as they are
 *   decoded, with a 400, and objects a patch would make deeper with upstream's 422 on "patch".
 * - JSON patch follows upstream's library over own properties only: "__proto__" is a key, a move
 *   into itself has no destination; every operation that does not apply is upstream's 422, "the
 *   server rejected our request due to an error in our request", with the reason as its cause.
 *   Copies may add 3 MiB at most, and a patch has at most 10000 operations (413), as upstream's.
 * - Strategic merge lists are merged and ordered through maps, in linear time.
 * - A revision storage has not reached is upstream's 504 Timeout "Too large resource version", at
 *   once for an exact list (storage answers it), after 3 s of waiting for the watch cache for get
 *   and list; a watch from the future starts and sends only what comes after (upstream's cacher).
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
/** A kind with no schema (fixture): values no built-in schema has a place for are kept, as a CRD keeps them. */
const NOTES = '/apis/fixtures.skiff.dev/v1/namespaces/default/notes';
const FREE_FORM = new URL('../fixtures/plugins/free-form-notes', import.meta.url).pathname;
const PODS = '/api/v1/namespaces/default/pods';
const MERGE = 'application/merge-patch+json';
const STRATEGIC = 'application/strategic-merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';
const APPLY = 'application/apply-patch+yaml';
const REJECTED = 'the server rejected our request due to an error in our request';
/** What must never reach a client: JavaScript's own words. */
const JS_INTERNALS = /call stack|TypeError|Cannot (read|set) propert|is not a function|undefined|JSON-Patch:/;

/** `{"a":{"a":…1…}}`, `levels` objects deep, as text (a JavaScript object this deep could not be stringified). */
const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

type Answer = Awaited<ReturnType<typeof api>>;

describe('security: hostile input gets a clean 4xx, never JavaScript internals', function () {
  this.timeout(60_000);
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ plugins: { 'free-form-notes': { path: FREE_FORM } } });
    const cm = await api(ts.url, 'POST', CONFIGMAPS, { metadata: { name: 'target' }, data: { v: '1' } });
    expect(cm.status).to.equal(201);
    const pod = { metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    expect((await api(ts.url, 'POST', PODS, pod)).status).to.equal(201);
  });
  after(async () => ts?.close());

  const send = (method: string, path: string, type: string, body: string) =>
    api(ts.url, method, path, body, { 'Content-Type': type });

  function expectClean(r: Answer, status: number, what: string): void {
    expect(r.status, `${what}: ${JSON.stringify(r.body).slice(0, 300)}`).to.equal(status);
    expect(r.body.kind, what).to.equal('Status');
    expect(JSON.stringify(r.body), what).to.not.match(JS_INTERNALS);
  }

  async function expectServing(): Promise<void> {
    expect((await api(ts.url, 'GET', '/readyz')).status).to.equal(200);
    expect((await api(ts.url, 'GET', `${CONFIGMAPS}/target`)).body.data).to.deep.equal({ v: '1' });
  }

  it('bodies nested 50 000 levels deep (every patch type, apply as JSON and YAML, create) → 400 "exceeded max depth"', async () => {
    const deep = nested(50_000);
    const attempts: [string, string, string, string][] = [
      ['merge patch', 'PATCH', MERGE, `{"data":${deep}}`],
      ['strategic merge patch', 'PATCH', STRATEGIC, `{"data":${deep}}`],
      ['JSON patch', 'PATCH', JSON_PATCH, `[{"op":"add","path":"/data/x","value":${deep}}]`],
      ['apply (JSON)', 'PATCH', APPLY, `{"apiVersion":"v1","kind":"ConfigMap","data":${deep}}`],
      [
        'apply (YAML)',
        'PATCH',
        APPLY,
        `apiVersion: v1\nkind: ConfigMap\ndata: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`,
      ],
      ['create', 'POST', 'application/json', `{"metadata":{"name":"deep"},"data":${deep}}`],
    ];
    for (const [what, method, type, body] of attempts) {
      const path = method === 'POST' ? CONFIGMAPS : `${CONFIGMAPS}/target?fieldManager=m`;
      const r = await send(method, path, type, body);
      expectClean(r, 400, what);
      expect(r.body.reason, what).to.equal('BadRequest');
      expect(r.body.message, what).to.match(/^the request body is not valid (JSON|YAML): exceeded max depth of 1000/);
    }
    await expectServing();
  });

  it('a body at the limit (1000 levels) is accepted, stored and read back', async () => {
    expect((await api(ts.url, 'POST', NOTES, { metadata: { name: 'at-limit' } })).status).to.equal(201);
    const patched = await send('PATCH', `${NOTES}/at-limit`, MERGE, `{"x":${nested(999)}}`);
    expect(patched.status, JSON.stringify(patched.body).slice(0, 300)).to.equal(200);
    const read = await api(ts.url, 'GET', `${NOTES}/at-limit`);
    expect(read.status).to.equal(200);
    let depth = 0;
    for (let v = read.body.x; typeof v === 'object'; v = v.a) depth++;
    expect(depth).to.equal(999);
  });

  it('a JSON patch that would make an object deeper than the limit (a deep value added under a deep path) → 422, nothing written', async () => {
    expect((await api(ts.url, 'POST', NOTES, { metadata: { name: 'grow' } })).status).to.equal(201);
    expect((await send('PATCH', `${NOTES}/grow`, MERGE, `{"x":${nested(600)}}`)).status).to.equal(200);
    const deepPath = `/x${'/a'.repeat(599)}`;
    const r = await send(
      'PATCH',
      `${NOTES}/grow`,
      JSON_PATCH,
      `[{"op":"add","path":"${deepPath}","value":${nested(600)}}]`,
    );
    expectClean(r, 422, 'grow');
    expect(r.body).to.deep.include({ reason: 'Invalid', message: REJECTED });
    expect(r.body.details.causes).to.deep.equal([
      { message: 'the patched object is nested too deeply: exceeded max depth of 1000', field: 'patch' },
    ]);
  });

  it("JSON patch move of /metadata into /metadata/x → 422 with upstream's reason (was a TypeError, 500)", async () => {
    const r = await send(
      'PATCH',
      `${CONFIGMAPS}/target`,
      JSON_PATCH,
      '[{"op":"move","from":"/metadata","path":"/metadata/x"}]',
    );
    expectClean(r, 422, 'move');
    expect(r.body).to.deep.include({ reason: 'Invalid', message: REJECTED });
    expect(r.body.details.causes).to.deep.equal([
      {
        message: 'move operation does not apply: doc is missing destination path: /metadata/x: missing value',
        field: 'patch',
      },
    ]);
    await expectServing();
  });

  it('JSON patch add at /__proto__/p → 422 like any add under a missing parent; no prototype is touched', async () => {
    for (const path of ['/__proto__/p', '/data/toString/p', '/constructor/prototype/p']) {
      const r = await send(
        'PATCH',
        `${CONFIGMAPS}/target`,
        JSON_PATCH,
        JSON.stringify([{ op: 'add', path, value: 'x' }]),
      );
      expectClean(r, 422, path);
      expect(r.body.details.causes[0].message).to.equal(
        `add operation does not apply: doc is missing path: "${path}": missing value`,
      );
    }
    expect(({} as Record<string, unknown>).p).to.equal(undefined);
    await expectServing();
  });

  it('a "__proto__" key in a patch is data: every patch type sets and changes it, no prototype is set', async () => {
    expect((await api(ts.url, 'POST', NOTES, { metadata: { name: 'proto' } })).status).to.equal(201);
    const steps: [string, string, string][] = [
      [MERGE, '{"x":{"__proto__":"a"}}', 'a'],
      [STRATEGIC, '{"x":{"__proto__":"b"}}', 'b'],
      [JSON_PATCH, '[{"op":"replace","path":"/x/__proto__","value":"c"}]', 'c'],
    ];
    for (const [type, body, expected] of steps) {
      const r = await send('PATCH', `${NOTES}/proto`, type, body);
      expect(r.status, `${type}: ${JSON.stringify(r.body)}`).to.equal(200);
      const text = await (await fetch(`${ts.url}${NOTES}/proto`)).text();
      expect(text, type).to.contain(`"x":{"__proto__":"${expected}"}`);
    }
    expect(({} as Record<string, unknown>).a).to.equal(undefined);
  });

  it('JSON patch operations of the wrong shape, failed tests and odd escapes → 4xx with a clean message', async () => {
    const cases: [unknown, number][] = [
      [[{ op: 'frob', path: '/data/v' }], 422],
      [[{ op: 'add', path: 5, value: 1 }], 422],
      [[{ op: 'add' }], 422],
      [[{ op: ['add'], path: '/x' }], 422],
      [[null], 422],
      [[1], 400],
      [[[]], 400],
      [{ op: 'add', path: '/x' }, 400],
      [[{ op: 'test', path: '/data/v', value: 'other' }], 422],
      [[{ op: 'test', path: '/nope/deeper' }], 422],
      [[{ op: 'remove', path: '/data/nope' }], 422],
      [[{ op: 'remove', path: '' }], 422],
      [[{ op: 'replace', path: '', value: 'scalar' }], 422],
      [[{ op: 'replace', path: '', value: [] }], 422],
      [[{ op: 'add', path: '/data/a~2b', value: 'x' }], 422],
      [[{ op: 'add', path: 'no-slash', value: 'x' }], 422],
      [[{ op: 'copy', from: '/nope/deeper', path: '/x' }], 422],
      [[{ op: 'replace', path: '/metadata', value: 'not an object' }], 400],
      [[{ op: 'replace', path: '/metadata/resourceVersion', value: 'abc' }], 400],
    ];
    for (const [ops, status] of cases) {
      const r = await send('PATCH', `${CONFIGMAPS}/target?dryRun=All`, JSON_PATCH, JSON.stringify(ops));
      expectClean(r, status, JSON.stringify(ops));
    }
    const many = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/data/v', value: '1' }));
    const tooMany = await send('PATCH', `${CONFIGMAPS}/target`, JSON_PATCH, JSON.stringify(many));
    expectClean(tooMany, 413, 'too many operations');
    expect(tooMany.body.message).to.equal(
      'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
    );
    await expectServing();
  });

  it('a JSON patch of copies that doubles an object → 422 once copies add 3 MiB, the server unharmed', async () => {
    const ops: unknown[] = [
      { op: 'add', path: '/data/seed', value: 'x'.repeat(256 * 1024) },
      { op: 'add', path: '/d', value: [] },
    ];
    for (let i = 0; i < 20; i++) ops.push({ op: 'copy', from: i === 0 ? '/data/seed' : '/d', path: '/d/-' });
    const r = await send('PATCH', `${CONFIGMAPS}/target`, JSON_PATCH, JSON.stringify(ops));
    expectClean(r, 422, 'copy bomb');
    expect(r.body.details.causes[0].message).to.match(/^Unable to complete the copy, the accumulated size increase/);
    await expectServing();
  });

  it('merge patches that are no object, metadata that is no object, apply of YAML that is no object → 400', async () => {
    const cases: [string, string][] = [
      [MERGE, '[1]'],
      [MERGE, 'null'],
      [MERGE, '"x"'],
      [MERGE, '{"metadata":"x"}'],
      [STRATEGIC, '[1]'],
      [STRATEGIC, '{"metadata":[1]}'],
      [STRATEGIC, '{"data":{"$patch":5}}'],
      [STRATEGIC, '{"$setElementOrder/data":5}'],
      [APPLY, 'just a string'],
      [APPLY, '- a\n- b\n'],
      [APPLY, 'apiVersion: v1\nkind: ConfigMap\nmetadata: 5\n'],
    ];
    for (const [type, body] of cases) {
      const r = await send('PATCH', `${CONFIGMAPS}/target?fieldManager=m`, type, body);
      expectClean(r, 400, `${type} ${body}`);
    }
    await expectServing();
  });

  it('a strategic merge list of 40 000 elements and their order (1.4 MB) is merged in linear time, not held for minutes', async function () {
    // Quadratic merging took about 18 s for 20 000 elements and 70 s for these; linear takes about one.
    this.timeout(20_000);
    const names = Array.from({ length: 40_000 }, (_, i) => ({ name: `c${i}` }));
    const body = JSON.stringify({ spec: { containers: names, '$setElementOrder/containers': names } });
    const r = await send('PATCH', `${PODS}/web`, STRATEGIC, body);
    // Pods may not change their containers: the answer is the Invalid the patched pod earns.
    expectClean(r, 422, 'big list');
    expect(r.body.message).to.contain('pod updates may not change fields');
    await expectServing();
  });

  it('a list at an exact resourceVersion storage has not reached → 504 Timeout "Too large resource version" (was a 500)', async () => {
    const r = await api(ts.url, 'GET', `${CONFIGMAPS}?resourceVersion=100000&resourceVersionMatch=Exact`);
    expectClean(r, 504, 'exact list');
    const current = (await api(ts.url, 'GET', CONFIGMAPS)).body.metadata.resourceVersion;
    expect(r.body).to.deep.equal({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `Timeout: Too large resource version: 100000, current: ${current}`,
      reason: 'Timeout',
      details: {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
        retryAfterSeconds: 1,
      },
      code: 504,
    });
  });

  it('forged continue tokens: null, a revision that is 0 or no integer → 400; one from the future → 504 (were 500s)', async () => {
    const token = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const list = (t: string) => api(ts.url, 'GET', `${CONFIGMAPS}?limit=1&continue=${t}`);
    expectClean(await list(token(null)), 400, 'null token');
    for (const rv of [0, 1.5, 1e300]) {
      const r = await list(token({ v: 'meta.k8s.io/v1', rv, start: '' }));
      expectClean(r, 400, `rv ${rv}`);
      expect(r.body.message).to.equal(
        'invalid continue token: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
      );
    }
    // A negative revision is upstream's "continue at the newest revision".
    const latest = await list(token({ v: 'meta.k8s.io/v1', rv: -1, start: '' }));
    expect(latest.status, JSON.stringify(latest.body)).to.equal(200);
    const future = await list(token({ v: 'meta.k8s.io/v1', rv: 999_999, start: '' }));
    expectClean(future, 504, 'future token');
    expect(future.body.message).to.match(/^Timeout: Too large resource version: 999999, current: \d+$/);
  });

  it('get and list from the future wait 3 s for the revision, then 504; a watch from the future starts and sends only what comes after', async () => {
    const current = Number((await api(ts.url, 'GET', CONFIGMAPS)).body.metadata.resourceVersion);
    const future = current + 1_000;
    const watch = new AbortController();
    const stream = await fetch(`${ts.url}${CONFIGMAPS}?watch=1&resourceVersion=${current + 2}`, {
      signal: watch.signal,
    });
    expect(stream.status).to.equal(200);
    const started = Date.now();
    const [get, list] = await Promise.all([
      api(ts.url, 'GET', `${CONFIGMAPS}/target?resourceVersion=${future}`),
      api(ts.url, 'GET', `${CONFIGMAPS}?resourceVersion=${future}`),
    ]);
    expect(Date.now() - started).to.be.at.least(2_900);
    for (const r of [get, list]) {
      expectClean(r, 504, 'future read');
      expect(r.body.message).to.match(new RegExp(`^Timeout: Too large resource version: ${future}, current: \\d+$`));
      expect(r.body.details).to.deep.include({ retryAfterSeconds: 1 });
    }
    // Three writes: the first two are at or before the watch's resourceVersion, the third after.
    for (const name of ['w1', 'w2', 'w3'])
      expect((await api(ts.url, 'POST', CONFIGMAPS, { metadata: { name } })).status).to.equal(201);
    const reader = stream.body!.getReader();
    let text = '';
    while (!text.includes('\n')) text += new TextDecoder().decode((await reader.read()).value);
    watch.abort();
    const event = JSON.parse(text.split('\n')[0]!);
    expect(event.type).to.equal('ADDED');
    expect(event.object.metadata.name).to.equal('w3');
    expect(Number(event.object.metadata.resourceVersion)).to.be.greaterThan(current + 2);
  });
});
