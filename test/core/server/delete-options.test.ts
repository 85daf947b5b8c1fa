/**
 * DELETE options as upstream's delete handlers read them: a body, when there is one, is the
 * DeleteOptions (kubectl always sends one: `{"kind":"DeleteOptions","dryRun":["All"],...}`) and the
 * query is then ignored; without a body the query carries dryRun, gracePeriodSeconds and
 * propagationPolicy. Preconditions come only in a body and answer 409 when they do not hold.
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const CMS = '/api/v1/namespaces/default/configmaps';
const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { set: 'x' } } });
const options = (rest: Record<string, unknown>) => ({ kind: 'DeleteOptions', apiVersion: 'v1', ...rest });

describe('core/server: DELETE options in the body and in the query', function () {
  this.timeout(30_000);
  let ts: TestServer;
  const call = (method: string, path: string, body?: unknown) => api(ts.url, method, path, body);
  const exists = async (name: string) => (await call('GET', `${CMS}/${name}`)).status === 200;
  const make = async (name: string) => {
    const r = await call('POST', CMS, cm(name));
    expect(r.status, JSON.stringify(r.body)).to.equal(201);
    return r.body;
  };

  before(async () => {
    ts = await startTestServer();
  });
  after(async () => ts?.close());

  it('dryRun ["All"] in the body: the answer is a success and the object stays', async () => {
    await make('dry-body');
    const r = await call('DELETE', `${CMS}/dry-body`, options({ dryRun: ['All'], propagationPolicy: 'Background' }));
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body).to.include({ kind: 'Status', status: 'Success' });
    expect(await exists('dry-body')).to.equal(true);
  });

  it('dryRun ["All"] in the body of a deletecollection: every object stays', async () => {
    await make('dry-all-1');
    await make('dry-all-2');
    const r = await call('DELETE', `${CMS}?labelSelector=set%3Dx`, options({ dryRun: ['All'] }));
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).to.include.members([
      'dry-all-1',
      'dry-all-2',
    ]);
    expect(await exists('dry-all-1')).to.equal(true);
    expect(await exists('dry-all-2')).to.equal(true);
  });

  it('dryRun=All in the query without a body still works', async () => {
    await make('dry-query');
    expect((await call('DELETE', `${CMS}/dry-query?dryRun=All`)).status).to.equal(200);
    expect(await exists('dry-query')).to.equal(true);
  });

  it('a dryRun value other than "All" in the body → 400, nothing deleted', async () => {
    await make('dry-bad');
    const r = await call('DELETE', `${CMS}/dry-bad`, options({ dryRun: ['Some'] }));
    expect(r.status).to.equal(400);
    expect(r.body.message).to.equal('dryRun: Unsupported value: "Some": supported values: "All"');
    expect(await exists('dry-bad')).to.equal(true);
  });

  it('preconditions in the body: a wrong uid or resourceVersion → 409 Conflict, the right ones delete', async () => {
    const made = await make('pre');
    const wrongUid = await call('DELETE', `${CMS}/pre`, options({ preconditions: { uid: 'not-its-uid' } }));
    expect(wrongUid.status).to.equal(409);
    expect(wrongUid.body).to.include({
      reason: 'Conflict',
      message: `Operation cannot be fulfilled on configmaps "pre": Precondition failed: UID in precondition: not-its-uid, UID in object meta: ${made.metadata.uid}`,
    });
    const staleRv = await call('DELETE', `${CMS}/pre`, options({ preconditions: { resourceVersion: '1' } }));
    expect(staleRv.status).to.equal(409);
    expect(staleRv.body.message).to.contain('Precondition failed: ResourceVersion in precondition: 1,');
    expect(await exists('pre')).to.equal(true);
    const right = options({
      preconditions: { uid: made.metadata.uid, resourceVersion: made.metadata.resourceVersion },
    });
    expect((await call('DELETE', `${CMS}/pre`, right)).status).to.equal(200);
    expect(await exists('pre')).to.equal(false);
  });

  it('propagationPolicy and gracePeriodSeconds are checked in the body as in the query', async () => {
    await make('opts');
    const body = await call('DELETE', `${CMS}/opts`, options({ propagationPolicy: 'Sometimes' }));
    expect(body.status).to.equal(400);
    expect(body.body.message).to.contain('propagationPolicy: Unsupported value: "Sometimes"');
    const query = await call('DELETE', `${CMS}/opts?gracePeriodSeconds=-1`);
    expect(query.status).to.equal(400);
    expect(await exists('opts')).to.equal(true);
  });

  it('with a body, the query is ignored, as upstream (kubectl puts everything in the body)', async () => {
    await make('body-wins');
    // The query asks for a dry run, the body does not: upstream reads only the body.
    const r = await call('DELETE', `${CMS}/body-wins?dryRun=All&propagationPolicy=Sometimes`, options({}));
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(await exists('body-wins')).to.equal(false);
  });
});
