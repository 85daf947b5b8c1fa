/**
 * wire-protobuf turned off: the API speaks JSON and YAML only, and says so as upstream does for a
 * media type it has no serializer for: 415 for protobuf bodies, 406 for protobuf-only clients, each
 * naming what is accepted, and each answered in JSON. kubectl's typed commands then fail.
 */
import { expect } from 'chai';
import { encodeProtobuf } from '../../../plugins/wire-protobuf/encode.js';
import { PROTOBUF_MEDIA_TYPE } from '../../../plugins/wire-protobuf/names.js';
import { kubectl, kubectlPath } from '../../helpers/kubectl.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { NO_KUBECTL, skipBecause } from '../../helpers/skip.js';

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';

describe('wire-protobuf: turned off', function () {
  this.timeout(30_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ plugins: { 'wire-protobuf': { enabled: false } } });
  });
  after(async () => ts?.close());

  it('a protobuf request body is a 415 listing the JSON and YAML types; nothing is stored', async () => {
    const body = encodeProtobuf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pb' }, data: { a: 'b' } })!;
    const res = await fetch(ts.url + CONFIGMAPS, {
      method: 'POST',
      body,
      headers: { 'Content-Type': PROTOBUF_MEDIA_TYPE },
    });
    expect(res.status).to.equal(415);
    expect(res.headers.get('content-type')).to.equal('application/json');
    expect(await res.json()).to.include({
      reason: 'UnsupportedMediaType',
      message: `the body of the request was in an unknown format (${PROTOBUF_MEDIA_TYPE}) - accepted media types include: application/json, application/yaml`,
    });
    expect((await fetch(`${ts.url}${CONFIGMAPS}/pb`)).status).to.equal(404);
  });

  it('a client that accepts only protobuf gets a 406 in JSON, for reads and watches alike', async () => {
    for (const query of ['', '?watch=1&timeoutSeconds=1']) {
      const res = await fetch(ts.url + CONFIGMAPS + query, { headers: { Accept: PROTOBUF_MEDIA_TYPE } });
      expect(res.status, query).to.equal(406);
      expect(res.headers.get('content-type'), query).to.equal('application/json');
      expect(await res.json(), query).to.include({
        reason: 'NotAcceptable',
        message: 'only the following media types are accepted: application/json',
      });
    }
    const both = await fetch(ts.url + CONFIGMAPS, { headers: { Accept: `${PROTOBUF_MEDIA_TYPE}, application/json` } });
    expect(both.status).to.equal(200);
  });

  it("kubectl 1.32's typed commands (protobuf bodies) then fail with the 415; JSON commands work", async function () {
    if (!kubectlPath) skipBecause(this, NO_KUBECTL);
    const created = await kubectl(ts.url, ['create', 'namespace', 'team-pb']);
    expect(created.code).to.not.equal(0);
    expect(created.stderr).to.contain('UnsupportedMediaType');
    expect((await kubectl(ts.url, ['get', 'namespaces'])).code).to.equal(0);
  });
});
