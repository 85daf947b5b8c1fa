/**
 * Status bodies byte for byte as kube-apiserver 1.32 writes them. Its JSON serializer is Go's
 * encoding/json Encoder (k8s.io/apimachinery runtime/serializer/json): keys in the struct's field
 * order (TypeMeta's kind and apiVersion, then metadata, status, message, reason, details, code),
 * every `omitempty` field left out when empty (so no `"group":""` for core kinds), `<`, `>` and `&`
 * escaped as \u003c, \u003e, \u0026, and a newline after the document. The expected bytes below are
 * written out from upstream's constructors (apimachinery pkg/api/errors/errors.go) and types
 * (pkg/apis/meta/v1/types.go), not produced by Skiff's encoder.
 */
import { request } from 'node:https';
import { expect } from 'chai';
import { makeEvent } from '../../../core/api/watch-events.js';
import { encodeStatus, errors } from '../../../core/errors.js';
import { PROTOBUF_MEDIA_TYPE } from '../../../plugins/wire-protobuf/names.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const HEAD = '{"kind":"Status","apiVersion":"v1","metadata":{}';

/** Upstream's shape of a failure: the fields that are set, in the struct's order. */
function failure(message: string, reason: string, details: string | undefined, code: number): string {
  const json = JSON.stringify(message).replace(/&/g, '\\u0026').replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
  const d = details === undefined ? '' : `,"details":${details}`;
  return `${HEAD},"status":"Failure","message":${json},"reason":"${reason}"${d},"code":${code}}\n`;
}

async function raw(url: string, method: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

describe('core/server: Status bodies, byte for byte as upstream', function () {
  this.timeout(30_000);
  let ts: TestServer;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    raw(ts.url + path, method, body, headers);
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  it('NotFound: no "group" for a core kind, the resource as details.kind', async () => {
    const r = await call('GET', '/api/v1/namespaces/default/pods/x');
    expect(r.status).to.equal(404);
    expect(r.text).to.equal(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"x\\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}\n',
    );
  });

  it('NotFound of a grouped kind carries its group', async () => {
    const r = await call('GET', '/apis/coordination.k8s.io/v1/namespaces/default/leases/x');
    expect(r.text).to.equal(
      failure(
        'leases.coordination.k8s.io "x" not found',
        'NotFound',
        '{"name":"x","group":"coordination.k8s.io","kind":"leases"}',
        404,
      ),
    );
  });

  it('unknown paths and groups: the generic 404 with empty (but present) details', async () => {
    const expected = failure('the server could not find the requested resource', 'NotFound', '{}', 404);
    for (const path of ['/api/v1/namespaces/default/widgets', '/apis/nope.example.com/v1/things', '/nothing/here']) {
      const r = await call('GET', path);
      expect(r.status, path).to.equal(404);
      expect(r.text, path).to.equal(expected);
    }
  });

  it("MethodNotAllowed: the router's generic answer, details present and empty", async () => {
    const r = await call('POST', '/api/v1/namespaces/default/pods/x', { metadata: { name: 'x' } });
    expect(r.status).to.equal(405);
    expect(r.text).to.equal(
      failure('the server does not allow this method on the requested resource', 'MethodNotAllowed', '{}', 405),
    );
  });

  it('AlreadyExists', async () => {
    await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'twice' } });
    const r = await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'twice' } });
    expect(r.status).to.equal(409);
    expect(r.text).to.equal(
      failure('configmaps "twice" already exists', 'AlreadyExists', '{"name":"twice","kind":"configmaps"}', 409),
    );
  });

  it('Conflict (a stale resourceVersion)', async () => {
    const created = JSON.parse(
      (await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'stale' } })).text,
    );
    await call('PUT', '/api/v1/namespaces/default/configmaps/stale', { ...created, data: { a: '1' } });
    const r = await call('PUT', '/api/v1/namespaces/default/configmaps/stale', { ...created, data: { a: '2' } });
    expect(r.status).to.equal(409);
    expect(r.text).to.equal(
      failure(
        'Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again',
        'Conflict',
        '{"name":"stale","kind":"configmaps"}',
        409,
      ),
    );
  });

  it('Invalid: causes as {reason, message, field}, the message aggregated, <, > and & escaped', async () => {
    const r = await call('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'Bad_Name', labels: { tier: 'a<b&c>' } },
    });
    expect(r.status).to.equal(422);
    const name =
      "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    const label =
      "Invalid value: \"a<b&c>\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    const escaped = (s: string) =>
      JSON.stringify(s).replace(/&/g, '\\u0026').replace(/</g, '\\u003c').replace(/>/g, '\\u003e');
    const causes = `[{"reason":"FieldValueInvalid","message":${escaped(name)},"field":"metadata.name"},{"reason":"FieldValueInvalid","message":${escaped(label)},"field":"metadata.labels"}]`;
    expect(r.text).to.equal(
      failure(
        `ConfigMap "Bad_Name" is invalid: [metadata.name: ${name}, metadata.labels: ${label}]`,
        'Invalid',
        `{"name":"Bad_Name","kind":"ConfigMap","causes":${causes}}`,
        422,
      ),
    );
    expect(r.text).to.contain('a\\u003cb\\u0026c\\u003e').and.not.contain('a<b');
  });

  it('Expired: a continue token older than the compacted revision', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) {
      await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name } });
    }
    const first = JSON.parse((await call('GET', '/api/v1/namespaces/default/configmaps?limit=1')).text);
    const storage = ts.server.api.storage();
    await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'page-d' } });
    await storage.compact(await storage.currentRevision());
    const r = await call('GET', `/api/v1/namespaces/default/configmaps?limit=1&continue=${first.metadata.continue}`);
    expect(r.status).to.equal(410);
    expect(r.text).to.equal(
      `${HEAD},"status":"Failure","message":"The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.","reason":"Expired","code":410}\n`,
    );
  });

  it('Expired in a watch: the ERROR event carries the same Status, compacted into its line', async () => {
    // A watch cache of 5 events: a watch from revision 1 must be served from (compacted) storage.
    const small = await startTestServer({ watchCacheSize: 5 });
    try {
      const storage = small.server.api.storage();
      for (let i = 0; i < 10; i++) {
        await raw(`${small.url}/api/v1/namespaces/default/configmaps`, 'POST', { metadata: { name: `old-${i}` } });
      }
      const compacted = await storage.currentRevision();
      await storage.compact(compacted);
      const path = '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1&timeoutSeconds=5';
      const r = await raw(small.url + path, 'GET');
      expect(r.text).to.equal(
        `{"type":"ERROR","object":${HEAD},"status":"Failure","message":"too old resource version: 1 (${compacted})","reason":"Expired","code":410}}\n`,
      );
    } finally {
      await small.close();
    }
  });

  it('a watch ERROR event writes its Status with the same encoder: order and Go escaping', () => {
    const status = errors.internal('watch failed: <eof> & more').toStatus();
    expect(
      makeEvent('ERROR', status as never)
        .encoded()
        .toString(),
    ).to.equal(
      `{"type":"ERROR","object":${HEAD},"status":"Failure","message":"Internal error occurred: watch failed: \\u003ceof\\u003e \\u0026 more","reason":"InternalError","details":{"causes":[{"message":"watch failed: \\u003ceof\\u003e \\u0026 more"}]},"code":500}}\n`,
    );
  });

  it('DELETE answers a Success Status without code or empty group; a binding gets code 201', async () => {
    const created = JSON.parse(
      (await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'gone' } })).text,
    );
    const r = await call('DELETE', '/api/v1/namespaces/default/configmaps/gone');
    expect(r.status).to.equal(200);
    expect(r.text).to.equal(
      `${HEAD},"status":"Success","details":{"name":"gone","kind":"configmaps","uid":"${created.metadata.uid}"}}\n`,
    );
    await call('POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'bind-me' },
      spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] },
    });
    const bound = await call('POST', '/api/v1/namespaces/default/pods/bind-me/binding', {
      metadata: { name: 'bind-me' },
      target: { name: 'node-1' },
    });
    expect(bound.status).to.equal(201);
    expect(bound.text).to.equal(`${HEAD},"status":"Success","code":201}\n`);
  });

  it('protobuf clients get the Status in the envelope, every non-pointer field present as gogo writes it', async () => {
    const res = await fetch(`${ts.url}/api/v1/namespaces/default/pods/x`, {
      headers: { Accept: PROTOBUF_MEDIA_TYPE },
    });
    expect(res.status).to.equal(404);
    expect(res.headers.get('content-type')).to.equal(PROTOBUF_MEDIA_TYPE);
    const field = (num: number, bytes: Buffer | string) => {
      const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      return Buffer.concat([Buffer.from([(num << 3) | 2, b.length]), b]);
    };
    // A two-byte varint (128 <= value < 16384) after its tag.
    const varint = (num: number, value: number) => Buffer.from([num << 3, (value & 0x7f) | 0x80, value >> 7]);
    const listMeta = Buffer.concat([field(1, ''), field(2, ''), field(3, '')]);
    // StatusDetails: name 1, group 2, kind 3, (no causes), retryAfterSeconds 5 = 0, uid 6.
    const details = Buffer.concat([
      field(1, 'x'),
      field(2, ''),
      field(3, 'pods'),
      Buffer.from([5 << 3, 0]),
      field(6, ''),
    ]);
    const status = Buffer.concat([
      field(1, listMeta),
      field(2, 'Failure'),
      field(3, 'pods "x" not found'),
      field(4, 'NotFound'),
      field(5, details),
      varint(6, 404),
    ]);
    const typeMeta = Buffer.concat([field(1, 'v1'), field(2, 'Status')]);
    const unknown = Buffer.concat([field(1, typeMeta), field(2, status), field(3, ''), field(4, '')]);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.concat([Buffer.from('k8s\0'), unknown]))).to.equal(true);
  });

  it('TooManyRequests keeps retryAfterSeconds, the only detail it has', () => {
    expect(encodeStatus(errors.tooManyRequests('Too many requests: try again later', 3).toStatus())).to.equal(
      failure('Too many requests: try again later', 'TooManyRequests', '{"retryAfterSeconds":3}', 429),
    );
  });
});

describe('core/server: Forbidden and Unauthorized bodies, byte for byte', function () {
  this.timeout(30_000);

  it('Forbidden names the user, the verb, the resource and the authorizer reason', async () => {
    const ts = await startTestServer({ plugins: { 'authz-always-deny': {} } });
    try {
      const r = await raw(`${ts.url}/api/v1/namespaces/default/pods/x`, 'GET', undefined, {
        'Impersonate-User': 'bob',
      });
      expect(r.status).to.equal(403);
      expect(r.text).to.equal(
        failure(
          'pods "x" is forbidden: User "bob" cannot get resource "pods" in API group "" in the namespace "default": Everything is forbidden.',
          'Forbidden',
          '{"name":"x","kind":"pods"}',
          403,
        ),
      );
    } finally {
      await ts.close();
    }
  });

  it('Unauthorized: message and reason "Unauthorized", no details', async () => {
    const ts = await startTestServer({ secure: true });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = request(
          `${ts.secureUrl}/api/v1/namespaces`,
          { ca: ts.pki!.ca.certPem, headers: { Authorization: 'Bearer not-a-token' }, timeout: 10_000 },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => {
              text += d.toString();
            });
            res.on('end', () => resolve(`${res.statusCode} ${text}`));
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(body).to.equal(`401 ${failure('Unauthorized', 'Unauthorized', undefined, 401)}`);
    } finally {
      await ts.close();
    }
  });
});
