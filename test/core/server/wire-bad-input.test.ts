/** Bad input at the wire: each a clear 4xx Status, and the server stays healthy. */
import { expect } from 'chai';
import { PROTOBUF_MEDIA_TYPE } from '../../../plugins/wire-protobuf/names.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const TABLE_ONLY = 'application/json;as=Table;v=v1;g=meta.k8s.io';

describe('server: bad input at the wire', function () {
  this.timeout(30_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
    await api(ts.url, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
  });
  after(async () => ts?.close());

  it('a watch with a malformed resourceVersion is a 400', async () => {
    for (const rv of ['abc', '-1', '1.5']) {
      const r = await api(ts.url, 'GET', `/api/v1/namespaces/default/pods?watch=1&resourceVersion=${rv}`);
      expect(r.status, rv).to.equal(400);
      expect(r.body).to.include({ kind: 'Status', reason: 'BadRequest' });
    }
  });

  it('a Table asked for where none can be served is a 406; with a JSON fallback, JSON', async () => {
    const status = await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/p/status', undefined, {
      Accept: TABLE_ONLY,
    });
    expect(status.status).to.equal(406);
    expect(status.body).to.include({ kind: 'Status', reason: 'NotAcceptable' });
    const create = await api(
      ts.url,
      'POST',
      '/api/v1/namespaces/default/configmaps',
      { metadata: { name: 'x' } },
      { Accept: TABLE_ONLY },
    );
    expect(create.status).to.equal(406);
    const fallback = await api(ts.url, 'GET', '/api/v1/namespaces/default/pods/p/status', undefined, {
      Accept: `${TABLE_ONLY},application/json`,
    });
    expect(fallback.status).to.equal(200);
    expect(fallback.body.kind).to.equal('Pod');
  });

  it('an Accept header of nothing the server speaks is a 406; protobuf for a list is fine', async () => {
    const r = await api(ts.url, 'GET', '/api/v1/namespaces/default/pods', undefined, { Accept: 'text/html' });
    expect(r.status).to.equal(406);
    const pb = await fetch(`${ts.url}/api/v1/namespaces/default/pods`, { headers: { Accept: PROTOBUF_MEDIA_TYPE } });
    expect(pb.status).to.equal(200);
    expect(pb.headers.get('content-type')).to.equal(PROTOBUF_MEDIA_TYPE);
    expect((await api(ts.url, 'GET', '/readyz')).status).to.equal(200);
  });
});
