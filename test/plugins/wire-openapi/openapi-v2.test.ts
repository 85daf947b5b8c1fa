/**
 * /openapi/v2: the Swagger 2.0 document as JSON and as gnostic's protobuf, and its ETag. The
 * protobuf is read back with a decoder written here from the field numbers of gnostic-models'
 * openapiv2/OpenAPIv2.proto, independently of the encoder's tables.
 */
import { expect } from 'chai';
import { OPENAPI_V2_PROTOBUF, openApiV2 } from '../../../plugins/wire-openapi/v2.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

// ---------------------------------------------------------------- a tiny protobuf reader

type Fields = Map<number, (number | Buffer)[]>;

function varint(buf: Buffer, at: { pos: number }): number {
  let value = 0;
  for (let scale = 1; ; scale *= 128) {
    const b = buf[at.pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
  }
}

function fields(buf: Buffer): Fields {
  const out: Fields = new Map();
  const at = { pos: 0 };
  while (at.pos < buf.length) {
    const key = varint(buf, at);
    const [num, wire] = [Math.floor(key / 8), key % 8];
    let value: number | Buffer;
    if (wire === 0) value = varint(buf, at);
    else if (wire === 2) {
      const len = varint(buf, at);
      value = buf.subarray(at.pos, at.pos + len);
      at.pos += len;
    } else if (wire === 1) {
      value = buf.readDoubleLE(at.pos);
      at.pos += 8;
    } else throw new Error(`unexpected wire type ${wire}`);
    out.set(num, [...(out.get(num) ?? []), value]);
  }
  return out;
}

const all = (f: Fields, num: number) => (f.get(num) ?? []) as Buffer[];
const one = (f: Fields, num: number) => fields(all(f, num)[0] ?? Buffer.alloc(0));
const text = (f: Fields, num: number) => all(f, num)[0]?.toString() ?? '';
/** Named* entries (1 name, 2 value) of a map message. */
const entries = (f: Fields, num: number) =>
  new Map(all(f, num).map((b) => [text(fields(b), 1), one(fields(b), 2)] as const));

// ---------------------------------------------------------------- the tests

describe('server: /openapi/v2', function () {
  this.timeout(60_000);
  let ts: TestServer;
  // The document as parsed JSON (api() answers untyped bodies).
  let doc: Awaited<ReturnType<typeof api>>['body'];
  before(async () => {
    ts = await startTestServer();
    doc = (await api(ts.url, 'GET', '/openapi/v2')).body;
  });
  after(async () => ts?.close());

  it('is a Swagger 2.0 document whose definitions come from the schema table', () => {
    expect(doc).to.include({ swagger: '2.0' });
    expect(doc.info.title).to.equal('Kubernetes');
    const pod = doc.definitions['io.k8s.api.core.v1.Pod'];
    expect(pod['x-kubernetes-group-version-kind']).to.deep.equal([{ group: '', version: 'v1', kind: 'Pod' }]);
    expect(pod.properties.spec.$ref).to.equal('#/definitions/io.k8s.api.core.v1.PodSpec');
    expect(pod.properties.spec).to.not.have.property('allOf');
    const containers = doc.definitions['io.k8s.api.core.v1.PodSpec'].properties.containers;
    expect(containers).to.include({ type: 'array', 'x-kubernetes-patch-merge-key': 'name' });
    expect(containers.items).to.deep.equal({ $ref: '#/definitions/io.k8s.api.core.v1.Container' });
    expect(doc.definitions['io.k8s.api.core.v1.Container'].properties.image).to.include({ type: 'string' });
    expect(doc.definitions['io.k8s.api.autoscaling.v1.Scale']).to.have.property('properties');
    expect(
      doc.definitions['io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions']['x-kubernetes-group-version-kind'],
    ).to.deep.include({ group: 'coordination.k8s.io', version: 'v1', kind: 'DeleteOptions' });
  });

  it('has no v3 references left, and every $ref resolves', () => {
    const refs = new Set<string>();
    JSON.stringify(doc, (key, value) => {
      if (key === '$ref') refs.add(value);
      if (key === 'allOf') expect(value).to.not.have.length(1);
      return value;
    });
    expect(refs.size).to.be.greaterThan(100);
    for (const ref of refs) {
      const [hash, section, name, ...rest] = ref.split('/');
      expect([hash, rest.length], ref).to.deep.equal(['#', 0]);
      expect(doc[section!]?.[name!], ref).to.be.an('object');
    }
  });

  it('lists the operations of each resource, named and marked as upstream', () => {
    const item = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'];
    expect(Object.keys(item)).to.include.members(['get', 'put', 'patch', 'delete', 'parameters']);
    const gvk = { group: '', version: 'v1', kind: 'Pod' };
    expect(item.get).to.deep.include({
      operationId: 'readCoreV1NamespacedPod',
      'x-kubernetes-action': 'get',
      'x-kubernetes-group-version-kind': gvk,
    });
    const patchParams = item.patch.parameters.map((p: { $ref?: string; name?: string }) => p.$ref ?? p.name);
    expect(patchParams).to.include.members(['body', '#/parameters/fieldValidation', '#/parameters/dryRun']);
    expect(doc.parameters.fieldValidation).to.include({ name: 'fieldValidation', in: 'query', type: 'string' });
    const collection = doc.paths['/api/v1/namespaces/{namespace}/pods'];
    expect(collection.get.operationId).to.equal('listCoreV1NamespacedPod');
    expect(collection.post).to.deep.include({
      operationId: 'createCoreV1NamespacedPod',
      'x-kubernetes-action': 'post',
    });
    expect(collection.delete.operationId).to.equal('deleteCoreV1CollectionNamespacedPod');
    expect(doc.paths['/api/v1/pods'].get.operationId).to.equal('listCoreV1PodForAllNamespaces');
    expect(doc.paths['/api/v1/watch/namespaces/{namespace}/pods'].get['x-kubernetes-action']).to.equal('watchlist');
    expect(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/status'].get.operationId).to.equal(
      'readCoreV1NamespacedPodStatus',
    );
    expect(doc.paths['/api/v1/namespaces/{name}'].get.operationId).to.equal('readCoreV1Namespace');
    const scale = doc.paths['/api/v1/namespaces/{namespace}/replicationcontrollers/{name}/scale'];
    expect(scale.put['x-kubernetes-group-version-kind']).to.deep.equal({
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
    });
    const lease = doc.paths['/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}'];
    expect(lease.get.operationId).to.equal('readCoordinationV1NamespacedLease');
    const binding = doc.paths['/api/v1/namespaces/{namespace}/bindings'];
    expect(Object.keys(binding)).to.have.members(['post', 'parameters']);
  });

  it('serves the same document as gnostic protobuf (openapi.v2.Document)', async () => {
    const res = await fetch(`${ts.url}/openapi/v2`, { headers: { Accept: OPENAPI_V2_PROTOBUF } });
    expect(res.headers.get('content-type')).to.equal('application/octet-stream');
    const d = fields(Buffer.from(await res.arrayBuffer()));
    expect(text(d, 1)).to.equal('2.0'); // swagger
    expect(text(one(d, 2), 1)).to.equal('Kubernetes'); // info.title
    const definitions = entries(one(d, 9), 1); // Definitions.additional_properties: NamedSchema
    expect([...definitions.keys()]).to.deep.equal(Object.keys(doc.definitions));

    const pod = definitions.get('io.k8s.api.core.v1.Pod')!;
    const podProps = entries(one(pod, 25), 1); // Schema.properties → Properties → NamedSchema
    expect([...podProps.keys()]).to.deep.equal(Object.keys(doc.definitions['io.k8s.api.core.v1.Pod'].properties));
    expect(text(podProps.get('spec')!, 1)).to.equal('#/definitions/io.k8s.api.core.v1.PodSpec'); // _ref
    const ext = entries(pod, 31); // vendor_extension: NamedAny, Any.yaml = 2
    expect(JSON.parse(text(ext.get('x-kubernetes-group-version-kind')!, 2))).to.deep.equal([
      { group: '', version: 'v1', kind: 'Pod' },
    ]);

    const containers = entries(one(definitions.get('io.k8s.api.core.v1.PodSpec')!, 25), 1).get('containers')!;
    expect(text(one(containers, 22), 1)).to.equal('array'); // TypeItem.value
    expect(text(one(one(containers, 23), 1), 1)).to.equal('#/definitions/io.k8s.api.core.v1.Container'); // ItemsItem
    expect(text(entries(containers, 31).get('x-kubernetes-patch-merge-key')!, 2)).to.equal('"name"');
    const selector = entries(one(definitions.get('io.k8s.api.core.v1.ReplicationControllerSpec')!, 25), 1).get(
      'selector',
    )!;
    expect(text(one(one(selector, 21), 1), 22)).to.not.equal(''); // additionalProperties.schema.type
    expect(text(one(one(one(selector, 21), 1), 22), 1)).to.equal('string');

    const paths = entries(one(d, 8), 2); // Paths.path: NamedPathItem
    const item = paths.get('/api/v1/namespaces/{namespace}/pods/{name}')!;
    const get = one(item, 2); // PathItem.get: Operation
    expect(text(get, 5)).to.equal('readCoreV1NamespacedPod'); // operation_id
    expect(text(entries(get, 13).get('x-kubernetes-action')!, 2)).to.equal('"get"');
    const patchParams = all(one(item, 8), 8).map(fields); // Operation.parameters: ParametersItem
    const refs = patchParams.filter((p) => p.has(2)).map((p) => text(one(p, 2), 1)); // json_reference._ref
    expect(refs).to.include('#/parameters/fieldValidation');
    const body = one(one(patchParams.find((p) => p.has(1))!, 1), 1); // Parameter.body_parameter
    expect([text(body, 2), text(body, 3)]).to.deep.equal(['body', 'body']); // name, in
    const fieldValidation = one(one(entries(one(d, 10), 1).get('fieldValidation')!, 2), 3); // non-body → query
    expect([text(fieldValidation, 4), text(fieldValidation, 2), text(fieldValidation, 6)]).to.deep.equal([
      'fieldValidation',
      'query',
      'string',
    ]);
  });

  it('answers If-None-Match with 304, one ETag per representation, built once', async () => {
    const json = await fetch(`${ts.url}/openapi/v2`);
    const etag = json.headers.get('etag')!;
    expect(etag).to.match(/^"[0-9A-F]{128}"$/);
    expect(json.headers.get('vary')).to.contain('Accept');
    const proto = await fetch(`${ts.url}/openapi/v2`, { headers: { Accept: OPENAPI_V2_PROTOBUF } });
    const protoEtag = proto.headers.get('etag')!;
    expect(protoEtag)
      .to.match(/^"[0-9A-F]{128}"$/)
      .and.not.equal(etag);

    const fresh = await fetch(`${ts.url}/openapi/v2`, { headers: { 'If-None-Match': etag } });
    expect(fresh.status).to.equal(304);
    expect(await fresh.text()).to.equal('');
    const freshProto = await fetch(`${ts.url}/openapi/v2`, {
      headers: { Accept: OPENAPI_V2_PROTOBUF, 'If-None-Match': protoEtag },
    });
    expect(freshProto.status).to.equal(304);
    const stale = await fetch(`${ts.url}/openapi/v2`, { headers: { 'If-None-Match': '"0000"' } });
    expect(stale.status).to.equal(200);
    expect(((await stale.json()) as { swagger: string }).swagger).to.equal('2.0');

    const registry = ts.server.api.registry;
    expect(openApiV2(registry)).to.equal(openApiV2(registry));
    expect(openApiV2(registry).json.etag).to.equal(etag);
  });
});
