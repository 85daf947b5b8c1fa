/**
 * kubectl's generator commands send protobuf bodies (application/vnd.kubernetes.protobuf):
 * create namespace, secret, configmap, service, serviceaccount, quota. Each must work as against
 * a real cluster, and a client that accepts only protobuf gets protobuf back.
 */
import { expect } from 'chai';
import { decodeProtobuf } from '../../plugins/wire-protobuf/decode.js';
import { encodeProtobuf } from '../../plugins/wire-protobuf/encode.js';
import { PROTOBUF_MEDIA_TYPE } from '../../plugins/wire-protobuf/names.js';
import { kubectl, kubectlPath } from '../helpers/kubectl.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';

describe('e2e: kubectl create (protobuf bodies)', function () {
  this.timeout(120_000);
  let ts: TestServer;

  before(async function () {
    if (!kubectlPath) {
      console.warn('    SKIPPED: kubectl is not installed on this machine (.ci/run installs it)');
      this.skip();
    }
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  async function ok(...args: string[]): Promise<string> {
    const r = await kubectl(ts.url, args);
    expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  }
  const getJson = async (...args: string[]) => JSON.parse(await ok('get', ...args, '-o', 'json'));

  it('create namespace', async () => {
    expect(await ok('create', 'namespace', 'team-a')).to.contain('namespace/team-a created');
    const ns = await getJson('namespace', 'team-a');
    expect(ns.status.phase).to.equal('Active');
    expect(ns.metadata.uid).to.be.a('string').and.not.equal('');
  });

  it('create secret generic and configmap keep their data', async () => {
    await ok('create', 'secret', 'generic', 'creds', '--from-literal=user=admin', '-n', 'team-a');
    const secret = await getJson('secret', 'creds', '-n', 'team-a');
    expect(Buffer.from(secret.data.user, 'base64').toString()).to.equal('admin');
    expect(secret.type).to.equal('Opaque');
    await ok('create', 'configmap', 'settings', '--from-literal=mode=fast', '--from-literal=level=3', '-n', 'team-a');
    const cm = await getJson('configmap', 'settings', '-n', 'team-a');
    expect(cm.data).to.deep.equal({ mode: 'fast', level: '3' });
  });

  it('create service clusterip and nodeport get addresses and int-or-string target ports', async () => {
    await ok('create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', 'team-a');
    const svc = await getJson('service', 'web', '-n', 'team-a');
    expect(svc.spec.clusterIP).to.match(/^127\.96\./);
    expect(svc.spec.ports[0]).to.include({ port: 80, targetPort: 8080, protocol: 'TCP' });
    await ok('create', 'service', 'nodeport', 'edge', '--tcp=443:https', '-n', 'team-a');
    const edge = await getJson('service', 'edge', '-n', 'team-a');
    expect(edge.spec.ports[0].targetPort).to.equal('https');
    expect(edge.spec.ports[0].nodePort).to.be.within(30000, 32767);
  });

  it('create serviceaccount and quota', async () => {
    await ok('create', 'serviceaccount', 'robot', '-n', 'team-a');
    expect((await getJson('serviceaccount', 'robot', '-n', 'team-a')).metadata.name).to.equal('robot');
    await ok('create', 'quota', 'small', '--hard=pods=10,cpu=2,memory=1Gi', '-n', 'team-a');
    const quota = await getJson('quota', 'small', '-n', 'team-a');
    expect(quota.spec.hard).to.deep.equal({ pods: '10', cpu: '2', memory: '1Gi' });
  });

  it('answers protobuf to a client that accepts only protobuf, and JSON otherwise', async () => {
    const only = await fetch(`${ts.url}/api/v1/namespaces/team-a/configmaps/settings`, {
      headers: { Accept: PROTOBUF_MEDIA_TYPE },
    });
    expect(only.status).to.equal(200);
    expect(only.headers.get('content-type')).to.equal(PROTOBUF_MEDIA_TYPE);
    const cm = decodeProtobuf(Buffer.from(await only.arrayBuffer())) as { kind: string; data: unknown };
    expect(cm.kind).to.equal('ConfigMap');
    expect(cm.data).to.deep.equal({ mode: 'fast', level: '3' });
    const both = await api(ts.url, 'GET', '/api/v1/namespaces/team-a/configmaps/settings', undefined, {
      Accept: `${PROTOBUF_MEDIA_TYPE},application/json`,
    });
    expect(both.headers.get('content-type')).to.equal('application/json');
    expect(both.body.data.mode).to.equal('fast');
    const missing = await fetch(`${ts.url}/api/v1/namespaces/team-a/configmaps/nope`, {
      headers: { Accept: PROTOBUF_MEDIA_TYPE },
    });
    expect(missing.status).to.equal(404);
    const status = decodeProtobuf(Buffer.from(await missing.arrayBuffer())) as { kind: string; reason: string };
    expect(status).to.include({ kind: 'Status', reason: 'NotFound' });
  });

  it('turns bad protobuf bodies into 400 Status errors and stores nothing', async () => {
    const body = encodeProtobuf({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'broken' },
      data: { a: 'b' },
    })!;
    const post = (bytes: Buffer) =>
      fetch(`${ts.url}/api/v1/namespaces/team-a/configmaps`, {
        method: 'POST',
        headers: { 'Content-Type': PROTOBUF_MEDIA_TYPE },
        body: bytes,
      });
    const truncated = await post(body.subarray(0, body.length - 3));
    expect(truncated.status).to.equal(400);
    expect(((await truncated.json()) as { message: string }).message).to.contain('could not be decoded as protobuf');
    const unknownKind = Buffer.from(body);
    unknownKind.write('ConfigMoo', unknownKind.indexOf('ConfigMap'));
    const wrong = await post(unknownKind);
    expect(wrong.status).to.equal(400);
    expect(((await wrong.json()) as { message: string }).message).to.contain('no kind "ConfigMoo"');
    expect((await api(ts.url, 'GET', '/api/v1/namespaces/team-a/configmaps/broken')).status).to.equal(404);
  });

  it('streams a watch as length-prefixed protobuf frames to a client that accepts only protobuf', async () => {
    const controller = new AbortController();
    const res = await fetch(`${ts.url}/api/v1/namespaces/team-a/configmaps?watch=1&timeoutSeconds=5`, {
      headers: { Accept: PROTOBUF_MEDIA_TYPE },
      signal: controller.signal,
    });
    expect(res.headers.get('content-type')).to.equal(`${PROTOBUF_MEDIA_TYPE};stream=watch`);
    await api(ts.url, 'POST', '/api/v1/namespaces/team-a/configmaps', {
      metadata: { name: 'streamed' },
      data: { a: 'b' },
    });
    const reader = res.body!.getReader();
    let buf = Buffer.alloc(0);
    const events: { type: string; object: { kind: string; metadata: { name: string } } }[] = [];
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.object.metadata.name === 'streamed') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buf = Buffer.concat([buf, Buffer.from(value)]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const frame = buf.subarray(4, 4 + buf.readUInt32BE(0));
        buf = buf.subarray(4 + frame.length);
        events.push(readWatchEvent(frame));
      }
    }
    controller.abort();
    const added = events.find((e) => e.object.metadata.name === 'streamed');
    expect(added?.type).to.equal('ADDED');
    expect(added?.object.kind).to.equal('ConfigMap');
  });
});

/** metav1.WatchEvent: 1 = type (string), 2 = RawExtension { 1 = raw: the object in its envelope }. */
function readWatchEvent(frame: Buffer) {
  const fields = (b: Buffer) => {
    const out = new Map<number, Buffer>();
    let i = 0;
    const varint = () => {
      let v = 0;
      let shift = 0;
      for (;;) {
        const byte = b[i++]!;
        v += (byte & 0x7f) * 2 ** shift;
        if (!(byte & 0x80)) return v;
        shift += 7;
      }
    };
    while (i < b.length) {
      const key = varint();
      const len = varint();
      out.set(key >> 3, b.subarray(i, i + len));
      i += len;
    }
    return out;
  };
  const event = fields(frame);
  const raw = fields(event.get(2)!).get(1)!;
  return {
    type: event.get(1)!.toString(),
    object: decodeProtobuf(raw) as { kind: string; metadata: { name: string } },
  };
}
