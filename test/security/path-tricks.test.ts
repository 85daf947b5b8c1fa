/**
 * Chapter: path tricks.
 *
 * The attack: a user allowed only in namespace `a` writes a URL that authorization reads as
 * namespace `a` while storage reads it as namespace `b` (or the other way round): dot segments
 * (`/namespaces/a/../b/secrets`), percent-encoded slashes and dots (`%2F`, `%2e%2e`), double
 * encoding, double slashes, trailing `..`, upper-case prefixes, null bytes, `;`, `\`, `#` and `?`,
 * a namespace in the query string, an overlong path, and a body whose metadata.namespace (or name)
 * disagrees with the URL.
 *
 * The upstream defence: kube-apiserver parses the URL once into RequestInfo (namespace, resource,
 * name) and both authorization and the REST handler use that one parse; percent-decoding happens
 * per segment after splitting, so an encoded `/` or `..` stays inside one name; a body whose
 * namespace differs from the URL's is a 400 ("the namespace of the provided object does not match
 * the namespace sent on the request"), a body whose name differs a 400 too.
 *
 * Where Skiff implements it: core/api/request-info.ts (split on `/`, drop empty segments,
 * decode each segment once; the same RequestInfo goes to authorization and to the store),
 * core/api/store/generic-store.ts (checkBody: namespace and name of the body against the URL, also
 * after patches), core/server/server.ts (onClientError: unparseable request lines and oversized
 * headers become a Status). Storage keys are opaque strings: `/registry/secrets/a/../b/s` is never
 * normalised, so a name containing `/` or `..` is just a name that does not exist.
 *
 * Every case below runs as amy (ABAC: everything in namespace `a`, nothing elsewhere) over HTTPS,
 * and every answer is also checked for namespace b's secret value.
 */
import { expect } from 'chai';
import {
  type HttpsAnswer,
  httpsRequest,
  rawTlsExchange,
  type Scratch,
  scratchDir,
  tokenLine,
} from '../helpers/security.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

const TOKEN = 'amy-token';
const SECRET_OF = (ns: string) => `secret-of-${ns}`;
const NOT_FOUND = 'the server could not find the requested resource';
const forbiddenIn = (ns: string, verb = 'get') =>
  `secrets "s" is forbidden: User "amy" cannot ${verb} resource "secrets" in API group "" in the namespace "${ns}"`;

/** [path, status, reason, message] */
type Case = [string, number, string, string];

describe('security: path tricks never reach another namespace', function () {
  this.timeout(20_000);
  let ts: TestServer;
  let files: Scratch;

  before(async () => {
    files = scratchDir('path-tricks');
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-token-file': { config: { tokenAuthFile: files.file('tokens.csv', tokenLine(TOKEN, 'amy', '1')) } },
        'authz-abac': {
          config: { policyFile: files.file('policy.jsonl', '{"user":"amy","namespace":"a","resource":"*"}\n') },
        },
      },
    });
    for (const ns of ['a', 'b']) {
      await api(ts.url, 'POST', '/api/v1/namespaces', { metadata: { name: ns } });
      const created = await api(ts.url, 'POST', `/api/v1/namespaces/${ns}/secrets`, {
        metadata: { name: 's' },
        stringData: { k: SECRET_OF(ns) },
      });
      expect(created.status).to.equal(201);
    }
  });
  after(async () => {
    await ts?.close();
    files?.remove();
  });

  const leaksB = (text: string) =>
    text.includes(SECRET_OF('b')) || text.includes(Buffer.from(SECRET_OF('b')).toString('base64'));
  const amy = (path: string, options: Parameters<typeof httpsRequest>[2] = {}) =>
    httpsRequest(ts, path, { token: TOKEN, ...options });

  function expectAnswer(r: HttpsAnswer, [path, status, reason, message]: Case): void {
    expect(leaksB(r.text), `${path} leaked namespace b's secret`).to.equal(false);
    expect(r.status, `${path}: ${r.text.slice(0, 300)}`).to.equal(status);
    if (status >= 400) expect(r.body, path).to.include({ kind: 'Status', reason, message });
  }
  async function expectAll(cases: Case[]): Promise<void> {
    for (const c of cases) expectAnswer(await amy(c[0]), c);
  }

  it('baseline: amy reads secret s in "a" (and the leak check sees its value); in "b" she gets 403', async () => {
    const own = await amy('/api/v1/namespaces/a/secrets/s');
    expect(own.status).to.equal(200);
    expect(own.body.data.k).to.equal(Buffer.from(SECRET_OF('a')).toString('base64'));
    expectAnswer(await amy('/api/v1/namespaces/b/secrets/s'), [
      '/api/v1/namespaces/b/secrets/s',
      403,
      'Forbidden',
      forbiddenIn('b'),
    ]);
    const asAdmin = await api(ts.url, 'GET', '/api/v1/namespaces/b/secrets/s');
    expect(leaksB(JSON.stringify(asAdmin.body)), 'an admin read shows the leak check works').to.equal(true);
  });

  it('dot segments (a/../b, secrets/../../b, a trailing ..) are never resolved: 404 for what amy asked in "a"', async () => {
    await expectAll([
      ['/api/v1/namespaces/a/../b/secrets/s', 404, 'NotFound', NOT_FOUND],
      ['/api/v1/namespaces/a/../b/secrets', 404, 'NotFound', NOT_FOUND],
      ['/api/v1/namespaces/a/secrets/../../b/secrets/s', 404, 'NotFound', NOT_FOUND],
      ['/api/v1/namespaces/a/secrets/s/../../../b/secrets/s', 404, 'NotFound', NOT_FOUND],
      ['/api/v1/namespaces/a/secrets/s/..', 404, 'NotFound', NOT_FOUND],
      ['/api/v1/namespaces/a/secrets/..', 404, 'NotFound', 'secrets ".." not found'],
      ['/api/v1/namespaces/a/secrets/.', 404, 'NotFound', 'secrets "." not found'],
    ]);
  });

  it('an absolute-form request target (GET https://host/api/v1/namespaces/a/../b/...) → 404 as well', async () => {
    const [r] = await rawTlsExchange(
      ts,
      `GET https://localhost/api/v1/namespaces/a/../b/secrets/s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
    );
    expect(r?.status).to.equal(404);
    expect(leaksB(r!.body)).to.equal(false);
  });

  it('percent-encoded slashes and dots stay inside one segment: a namespace "a/../b" (403) or a name "../../b/secrets/s" (404)', async () => {
    await expectAll([
      ['/api/v1/namespaces/a%2F..%2Fb/secrets/s', 403, 'Forbidden', forbiddenIn('a/../b')],
      ['/api/v1/namespaces/a/%2e%2e/b/secrets/s', 404, 'NotFound', NOT_FOUND],
      [
        '/api/v1/namespaces/a/secrets/..%2F..%2Fb%2Fsecrets%2Fs',
        404,
        'NotFound',
        'secrets "../../b/secrets/s" not found',
      ],
      [
        '/api/v1/namespaces/a/secrets/%2e%2e%2f%2e%2e%2fb%2fsecrets%2fs',
        404,
        'NotFound',
        'secrets "../../b/secrets/s" not found',
      ],
      ['/api/v1/namespaces/%62/secrets/s', 403, 'Forbidden', forbiddenIn('b')],
    ]);
  });

  it('double encoding (%252e%252e) is decoded once only: the name "%2e%2e" → 404', async () => {
    await expectAll([['/api/v1/namespaces/a/secrets/%252e%252e', 404, 'NotFound', 'secrets "%2e%2e" not found']]);
  });

  it('double slashes collapse the same way for authorization and storage: b stays 403, a//secrets lists only "a"', async () => {
    await expectAll([
      ['//api/v1/namespaces/b/secrets/s', 403, 'Forbidden', forbiddenIn('b')],
      ['/api//v1/namespaces/b/secrets/s', 403, 'Forbidden', forbiddenIn('b')],
      ['/api/v1/namespaces//b/secrets/s', 403, 'Forbidden', forbiddenIn('b')],
    ]);
    const list = await amy('/api/v1/namespaces/a//secrets');
    expect(list.status).to.equal(200);
    expect(list.body.items.map((i: { metadata: { namespace: string } }) => i.metadata.namespace)).to.deep.equal(['a']);
  });

  it('case tricks (/API, Namespaces, B, Secrets) are other paths and names, and amy may not have them → 403', async () => {
    await expectAll([
      [
        '/API/v1/namespaces/b/secrets/s',
        403,
        'Forbidden',
        'forbidden: User "amy" cannot get path "/API/v1/namespaces/b/secrets/s"',
      ],
      ['/api/v1/namespaces/B/secrets/s', 403, 'Forbidden', forbiddenIn('B')],
      [
        '/api/v1/namespaces/b/Secrets/s',
        403,
        'Forbidden',
        'Secrets "s" is forbidden: User "amy" cannot get resource "Secrets" in API group "" in the namespace "b"',
      ],
    ]);
  });

  it('null bytes: %00 stays part of the name (403/404); a raw NUL in the request line → 400', async () => {
    await expectAll([
      ['/api/v1/namespaces/b%00/secrets/s', 403, 'Forbidden', forbiddenIn('b\u0000')],
      ['/api/v1/namespaces/a/secrets/s%00', 404, 'NotFound', 'secrets "s\u0000" not found'],
      ['/api/v1/namespaces/a/secrets/s%00/../../../b/secrets/s', 404, 'NotFound', NOT_FOUND],
    ]);
    const [raw] = await rawTlsExchange(
      ts,
      `GET /api/v1/namespaces/b\u0000/secrets/s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
    );
    expect(raw?.status).to.equal(400);
    expect(JSON.parse(raw!.body)).to.include({ reason: 'BadRequest', code: 400 });
  });

  it('other separators (";", "\\\\", "#", "?") never switch namespace: 403/404, or amy’s own secret in "a"', async () => {
    await expectAll([
      ['/api/v1/namespaces/a;b/secrets/s', 403, 'Forbidden', forbiddenIn('a;b')],
      ['/api/v1/namespaces/a/secrets/s;/../../b', 404, 'NotFound', NOT_FOUND],
      [
        '/api/v1/namespaces/a/secrets/s\\..\\..\\b\\secrets\\s',
        404,
        'NotFound',
        'secrets "s\\..\\..\\b\\secrets\\s" not found',
      ],
    ]);
    for (const path of [
      '/api/v1/namespaces/a/secrets/s#/../../b/secrets/s',
      '/api/v1/namespaces/a/secrets/s?/../../b/secrets/s',
    ]) {
      const r = await amy(path);
      expect(r.status, path).to.equal(200);
      expect(r.body.metadata.namespace, path).to.equal('a');
      expect(leaksB(r.text), path).to.equal(false);
    }
  });

  it('a namespace or field selector in the query string is not a namespace: 403 for b, a cluster-wide list and watches', async () => {
    await expectAll([
      [
        '/api/v1/namespaces/b/secrets?namespace=a',
        403,
        'Forbidden',
        'secrets is forbidden: User "amy" cannot list resource "secrets" in API group "" in the namespace "b"',
      ],
      [
        '/api/v1/secrets?fieldSelector=metadata.namespace%3Db',
        403,
        'Forbidden',
        'secrets is forbidden: User "amy" cannot list resource "secrets" in API group "" at the cluster scope',
      ],
      [
        '/api/v1/watch/namespaces/b/secrets',
        403,
        'Forbidden',
        'secrets is forbidden: User "amy" cannot watch resource "secrets" in API group "" in the namespace "b"',
      ],
      ['/api/v1/proxy/namespaces/b/secrets/s', 403, 'Forbidden', forbiddenIn('b', 'proxy')],
    ]);
    const watch = await amy('/api/v1/namespaces/a/secrets?watch=1&namespace=b&resourceVersion=0&timeoutSeconds=1');
    expect(watch.status).to.equal(200);
    const events = watch.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.object.metadata.namespace)).to.deep.equal(['a']);
    expect(leaksB(watch.text)).to.equal(false);
  });

  it('an overlong path (20 kB, over Node’s 16 kB header limit) → 431 with a Status, and the server keeps serving', async () => {
    const long = `/${'x/'.repeat(10_000)}api/v1/namespaces/b/secrets/s`;
    const [r] = await rawTlsExchange(
      ts,
      `GET ${long} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
    );
    expect(r?.status).to.equal(431);
    expect(JSON.parse(r!.body)).to.include({ kind: 'Status', code: 431 });
    expect((await amy('/api/v1/namespaces/a/secrets/s')).status).to.equal(200);
  });

  describe('the body against the URL', () => {
    const secret = (metadata: Record<string, string>) => ({ metadata, stringData: { k: 'planted' } });
    const MISMATCH = 'the namespace of the provided object does not match the namespace sent on the request';

    it('a pod created at /namespaces/a whose metadata.namespace is "b" → 400, nothing created in b', async () => {
      const r = await amy('/api/v1/namespaces/a/pods', {
        method: 'POST',
        body: { metadata: { name: 'p', namespace: 'b' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      });
      expectAnswer(r, ['POST pod', 400, 'BadRequest', MISMATCH]);
      expect((await api(ts.url, 'GET', '/api/v1/namespaces/b/pods/p')).status).to.equal(404);
      expect((await api(ts.url, 'GET', '/api/v1/namespaces/a/pods/p')).status).to.equal(404);
    });

    it('the same through create, update, merge patch, JSON patch and server-side apply of a secret → 400 each', async () => {
      const attempts: [string, Parameters<typeof httpsRequest>[2]][] = [
        ['/api/v1/namespaces/a/secrets', { method: 'POST', body: secret({ name: 'x', namespace: 'b' }) }],
        ['/api/v1/namespaces/a/secrets/s', { method: 'PUT', body: secret({ name: 's', namespace: 'b' }) }],
        [
          '/api/v1/namespaces/a/secrets/s',
          { method: 'PATCH', contentType: 'application/merge-patch+json', body: { metadata: { namespace: 'b' } } },
        ],
        [
          '/api/v1/namespaces/a/secrets/s',
          {
            method: 'PATCH',
            contentType: 'application/json-patch+json',
            body: [{ op: 'replace', path: '/metadata/namespace', value: 'b' }],
          },
        ],
        [
          '/api/v1/namespaces/a/secrets/s?fieldManager=amy',
          {
            method: 'PATCH',
            contentType: 'application/apply-patch+yaml',
            body: 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: b\n',
          },
        ],
      ];
      for (const [path, options] of attempts)
        expectAnswer(await amy(path, options), [`${options!.method} ${path}`, 400, 'BadRequest', MISMATCH]);
      const inB = await api(ts.url, 'GET', '/api/v1/namespaces/b/secrets');
      expect(inB.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).to.deep.equal(['s']);
      expect(JSON.stringify(inB.body)).to.not.contain(Buffer.from('planted').toString('base64'));
    });

    it('a name in the body other than the URL’s → 400; a name carrying a path ("../b/s") → 422 Invalid', async () => {
      expectAnswer(await amy('/api/v1/namespaces/a/secrets/s', { method: 'PUT', body: secret({ name: 'other' }) }), [
        'PUT other',
        400,
        'BadRequest',
        'the name of the object (other) does not match the name on the URL (s)',
      ]);
      const pathName = await amy('/api/v1/namespaces/a/secrets', { method: 'POST', body: secret({ name: '../b/s' }) });
      expect(pathName.status, pathName.text).to.equal(422);
      expect(pathName.body.reason).to.equal('Invalid');
      expect(pathName.body.details.causes[0].field).to.equal('metadata.name');
    });
  });
});
