/** Table responses for `kubectl get`: negotiation, per-kind columns, the default columns, includeObject, watch. */
import { expect } from 'chai';
import { humanDuration } from '../../../core/api/age.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const TABLE = {
  Accept:
    'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
};

describe('core/server: Table responses', function () {
  this.timeout(30_000);
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
    await api(ts.url, 'POST', '/api/v1/namespaces/default/pods', {
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    await api(ts.url, 'POST', '/api/v1/namespaces/default/limitranges', {
      metadata: { name: 'lr' },
      spec: { limits: [] },
    });
  });
  after(async () => ts?.close());

  it('answers a plain list unless the client asks for a Table', async () => {
    expect((await api(ts.url, 'GET', '/api/v1/namespaces/default/pods')).body.kind).to.equal('PodList');
  });

  it('lists pods with upstream columns, wide ones at priority 1, and metadata per row', async () => {
    const t = (await api(ts.url, 'GET', '/api/v1/namespaces/default/pods', undefined, TABLE)).body;
    expect(t).to.include({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    expect(t.columnDefinitions.map((c: { name: string }) => c.name)).to.deep.equal([
      'Name',
      'Ready',
      'Status',
      'Restarts',
      'Age',
      'IP',
      'Node',
      'Nominated Node',
      'Readiness Gates',
    ]);
    expect(t.columnDefinitions.filter((c: { priority?: number }) => c.priority === 1)).to.have.length(4);
    expect(t.rows[0].cells.slice(0, 4)).to.deep.equal(['web', '0/1', 'Pending', 0]);
    expect(t.rows[0].object).to.deep.include({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1' });
    expect(t.rows[0].object.metadata.labels).to.deep.equal({ app: 'web' });
    expect(t.metadata.resourceVersion).to.match(/^\d+$/);
  });

  it('serves one object as a one-row Table, and honours includeObject', async () => {
    const one = (
      await api(ts.url, 'GET', '/api/v1/namespaces/default/services/kubernetes?includeObject=Object', undefined, TABLE)
    ).body;
    expect(one.rows).to.have.length(1);
    expect(one.rows[0].cells.slice(0, 5)).to.deep.equal(['kubernetes', 'ClusterIP', '127.96.0.1', '<none>', '443/TCP']);
    expect(one.rows[0].object.kind).to.equal('Service');
    const none = (
      await api(ts.url, 'GET', '/api/v1/namespaces/default/services/kubernetes?includeObject=None', undefined, TABLE)
    ).body;
    expect(none.rows[0].object).to.equal(undefined);
    expect(
      (await api(ts.url, 'GET', '/api/v1/namespaces/default/services?includeObject=Everything', undefined, TABLE))
        .status,
    ).to.equal(400);
  });

  it('a kind without columns gets upstream default NAME and CREATED AT', async () => {
    const t = (await api(ts.url, 'GET', '/api/v1/namespaces/default/limitranges', undefined, TABLE)).body;
    expect(t.columnDefinitions.map((c: { name: string }) => c.name)).to.deep.equal(['Name', 'Created At']);
    expect(t.rows[0].cells[0]).to.equal('lr');
    expect(t.rows[0].cells[1]).to.match(/^\d{4}-\d\d-\d\dT/);
  });

  it('watch events carry one-row Tables', async () => {
    const ac = new AbortController();
    const res = await fetch(`${ts.url}/api/v1/namespaces/default/pods?watch=1&resourceVersion=0`, {
      headers: TABLE,
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    ac.abort();
    const event = JSON.parse(Buffer.from(value!).toString().split('\n')[0]!);
    expect(event.type).to.equal('ADDED');
    expect(event.object.kind).to.equal('Table');
    expect(event.object.rows[0].cells[0]).to.equal('web');
  });

  it('ages read like kubectl prints them', () => {
    expect(
      [5_000, 125_000, 600_000, 3 * 3600_000 + 60_000, 30 * 3600_000, 3 * 86400_000 + 3600_000, 40 * 86400_000].map(
        humanDuration,
      ),
    ).to.deep.equal(['5s', '2m5s', '10m', '3h1m', '30h', '3d1h', '40d']);
  });
});
