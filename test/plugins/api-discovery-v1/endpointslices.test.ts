/**
 * api-discovery-v1 in a real server: EndpointSlices are served under discovery.k8s.io/v1 (with
 * discovery), defaulted and validated as upstream's (422 Invalid with field causes; the address
 * type immutable), and listed as a table with upstream's columns. Bad input loses nothing.
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
const TABLE = { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' };

const slice = (name: string, fields: Record<string, unknown>) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name },
  ...fields,
});

describe('api-discovery-v1: EndpointSlices', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ plugins: { 'api-discovery-v1': {} } });
  });
  after(async () => s?.close());

  it('is served in discovery as discovery.k8s.io/v1 endpointslices', async () => {
    const r = await api(s.url, 'GET', '/apis/discovery.k8s.io/v1');
    expect(r.status).to.equal(200);
    expect(r.body.resources.find((x: { name: string }) => x.name === 'endpointslices')).to.include({
      kind: 'EndpointSlice',
      namespaced: true,
    });
  });

  it('defaults port protocols to TCP and names to ""; lists with upstream’s table columns', async () => {
    const r = await api(
      s.url,
      'POST',
      SLICES,
      slice('good', {
        addressType: 'IPv4',
        endpoints: [1, 2, 3, 4].map((n) => ({ addresses: [`10.9.0.${n}`], conditions: { ready: true } })),
        ports: [{ port: 8080 }],
      }),
    );
    expect(r.status).to.equal(201);
    expect(r.body.ports).to.deep.equal([{ name: '', port: 8080, protocol: 'TCP' }]);
    const table = await api(s.url, 'GET', `${SLICES}/good`, undefined, TABLE);
    expect(table.body.columnDefinitions.map((c: { name: string }) => c.name)).to.deep.equal([
      'Name',
      'AddressType',
      'Ports',
      'Endpoints',
      'Age',
    ]);
    expect(table.body.rows[0].cells.slice(0, 4)).to.deep.equal([
      'good',
      'IPv4',
      '8080',
      '10.9.0.1,10.9.0.2,10.9.0.3 + 1 more...',
    ]);
  });

  it('refuses an unsupported address type, an endpoint without addresses and a bad IP: 422 with causes', async () => {
    const r = await api(
      s.url,
      'POST',
      SLICES,
      slice('bad', {
        addressType: 'IPv5',
        endpoints: [{ addresses: [] }],
      }),
    );
    expect(r.status).to.equal(422);
    expect(r.body).to.include({ kind: 'Status', reason: 'Invalid' });
    const fields = r.body.details.causes.map((c: { field: string }) => c.field);
    expect(fields).to.include.members(['addressType', 'endpoints[0].addresses']);
    expect(r.body.message).to.contain('Unsupported value: "IPv5"');
    const ip = await api(
      s.url,
      'POST',
      SLICES,
      slice('bad-ip', { addressType: 'IPv4', endpoints: [{ addresses: ['10.9.0.300'] }] }),
    );
    expect(ip.status).to.equal(422);
    expect(ip.body.message).to.contain('endpoints[0].addresses[0]').and.contain('must be a valid IPv4 address');
    expect((await api(s.url, 'GET', `${SLICES}/bad`)).status).to.equal(404);
  });

  it('keeps the address type once set: changing it is 422 "field is immutable"', async () => {
    const current = (await api(s.url, 'GET', `${SLICES}/good`)).body;
    const r = await api(s.url, 'PUT', `${SLICES}/good`, {
      ...current,
      addressType: 'FQDN',
      endpoints: [{ addresses: ['web.example.com'] }],
    });
    expect(r.status).to.equal(422);
    expect(r.body.message).to.contain('addressType').and.contain('field is immutable');
    expect((await api(s.url, 'GET', `${SLICES}/good`)).body.addressType).to.equal('IPv4');
  });
});
