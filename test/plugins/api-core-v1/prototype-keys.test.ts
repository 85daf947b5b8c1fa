/**
 * Keys named like JavaScript's object machinery (__proto__, constructor, toString) are ordinary
 * ConfigMap keys upstream: they are stored, read back and changed by every kind of write, and
 * never reach a prototype. A real server on loopback; each write kind in turn.
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const PATH = '/api/v1/namespaces/default/configmaps';
const JSON_TYPE = { 'Content-Type': 'application/json' };
/** An own property's value (`obj.__proto__` would read the prototype when the key is missing). */
const own = (obj: object, key: string) => Object.getOwnPropertyDescriptor(obj, key)?.value;

describe('plugins/api-core-v1: ConfigMap keys named __proto__, constructor, toString', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => {
    await ts?.close();
  });

  const data = async () => (await api(ts.url, 'GET', `${PATH}/proto`)).body.data as Record<string, string>;
  const patch = (type: string, body: unknown, query = '') =>
    api(ts.url, 'PATCH', `${PATH}/proto${query}`, body, { 'Content-Type': type });

  it('creates and reads them back as keys', async () => {
    const body = JSON.parse('{"metadata":{"name":"proto"},"data":{"__proto__":"p1","constructor":"c","toString":"t"}}');
    const created = await api(ts.url, 'POST', PATH, body, JSON_TYPE);
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(Object.entries(await data())).to.deep.equal([
      ['__proto__', 'p1'],
      ['constructor', 'c'],
      ['toString', 't'],
    ]);
  });

  it('changes them by merge, strategic merge and JSON patch, by apply and by update', async () => {
    expect((await patch('application/merge-patch+json', JSON.parse('{"data":{"__proto__":"p2"}}'))).status).to.equal(
      200,
    );
    expect(own(await data(), '__proto__')).to.equal('p2');
    const strategic = JSON.parse('{"data":{"__proto__":"p3"}}');
    expect((await patch('application/strategic-merge-patch+json', strategic)).status).to.equal(200);
    expect(own(await data(), '__proto__')).to.equal('p3');
    const jsonPatch = [{ op: 'replace', path: '/data/__proto__', value: 'p4' }];
    expect((await patch('application/json-patch+json', jsonPatch)).status).to.equal(200);
    expect(own(await data(), '__proto__')).to.equal('p4');
    const applied = JSON.parse(
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"proto"},"data":{"__proto__":"p5"}}',
    );
    const apply = await patch('application/apply-patch+yaml', applied, '?fieldManager=trainer&force=true');
    expect(apply.status, JSON.stringify(apply.body)).to.equal(200);
    expect(own(await data(), '__proto__')).to.equal('p5');
    const current = (await api(ts.url, 'GET', `${PATH}/proto`)).body;
    Object.defineProperty(current.data, '__proto__', { value: 'p6', enumerable: true, writable: true });
    expect((await api(ts.url, 'PUT', `${PATH}/proto`, current, JSON_TYPE)).status).to.equal(200);
    expect(await data()).to.include({ constructor: 'c', toString: 't' });
    expect(own(await data(), '__proto__')).to.equal('p6');
  });

  it('removes one with a merge patch null, and no prototype was touched', async () => {
    expect((await patch('application/merge-patch+json', JSON.parse('{"data":{"__proto__":null}}'))).status).to.equal(
      200,
    );
    expect(Object.keys(await data())).to.deep.equal(['constructor', 'toString']);
    expect(Object.keys(Object.prototype)).to.deep.equal([]);
    expect(({} as Record<string, unknown>).p6).to.equal(undefined);
  });

  it('still refuses a key that is in both data and binaryData', async () => {
    const both = { metadata: { name: 'both' }, data: { toString: 'x' }, binaryData: { toString: 'eA==' } };
    const r = await api(ts.url, 'POST', PATH, both, JSON_TYPE);
    expect(r.status).to.equal(422);
    expect(r.body.message).to.contain(
      'data[toString]: Invalid value: "toString": duplicate of key present in binaryData',
    );
  });
});
