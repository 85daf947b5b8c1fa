/**
 * metadata.generation as upstream v1.32 keeps it: kinds whose strategy tracks it get 1 at create
 * and +1 on every spec change (in core/v1 only the ReplicationController); the others have none
 * at all, spec or not (pods, services, namespaces, nodes, configmaps...: upstream's issue 113961).
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const NS = '/api/v1/namespaces/default';

describe('plugins/api-core-v1: metadata.generation', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  it('pods, services, namespaces, nodes, configmaps, secrets and events are created without one, and stay so', async () => {
    const objects: [string, Record<string, unknown>][] = [
      ['pods', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }],
      ['configmaps', { metadata: { name: 'c', generation: 7 }, data: { a: '1' } }],
      ['secrets', { metadata: { name: 's' }, stringData: { a: '1' } }],
      ['events', { metadata: { name: 'e' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' } }],
    ];
    objects.push(['services', { metadata: { name: 'svc' }, spec: { ports: [{ port: 80 }] } }]);
    for (const [plural, body] of objects) {
      const created = await api(ts.url, 'POST', `${NS}/${plural}`, body);
      expect(created.status, `${plural}: ${JSON.stringify(created.body)}`).to.equal(201);
      expect(created.body.metadata, plural).to.not.have.property('generation');
    }
    const patched = await api(
      ts.url,
      'PATCH',
      `${NS}/configmaps/c`,
      { data: { a: '2' } },
      {
        'Content-Type': 'application/merge-patch+json',
      },
    );
    expect(patched.body.metadata).to.not.have.property('generation');
    for (const [path, body] of [
      ['/api/v1/namespaces', { metadata: { name: 'gen' } }],
      ['/api/v1/nodes', { metadata: { name: 'gen-node' }, spec: {} }],
    ] as const) {
      const created = await api(ts.url, 'POST', path, body);
      expect(created.status, path).to.equal(201);
      expect(created.body.metadata, path).to.not.have.property('generation');
    }
  });

  it('a ReplicationController starts at 1 and counts spec changes only', async () => {
    const template = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    const rc = { metadata: { name: 'rc' }, spec: { replicas: 1, selector: { app: 'x' }, template } };
    expect((await api(ts.url, 'POST', `${NS}/replicationcontrollers`, rc)).body.metadata.generation).to.equal(1);
    const merge = { 'Content-Type': 'application/merge-patch+json' };
    const scaled = await api(ts.url, 'PATCH', `${NS}/replicationcontrollers/rc`, { spec: { replicas: 2 } }, merge);
    expect(scaled.body.metadata.generation).to.equal(2);
    const labelled = await api(
      ts.url,
      'PATCH',
      `${NS}/replicationcontrollers/rc`,
      { metadata: { labels: { a: 'b' } } },
      merge,
    );
    expect(labelled.body.metadata.generation).to.equal(2);
  });
});
