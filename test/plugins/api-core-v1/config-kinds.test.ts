import { expect } from 'chai';
import { base64ErrorOffset, configDefinitions } from '../../../plugins/api-core-v1/config-kinds.js';
import { FakeStore, rejection } from './fake-store.js';

const [secretDef, configMapDef, saDef] = configDefinitions;
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('plugins/api-core-v1: secrets, configmaps, serviceaccounts', () => {
  it('secrets default to Opaque and merge stringData into data', async () => {
    const store = new FakeStore(secretDef!);
    const s = await store.create('default', {
      metadata: { name: 's' },
      data: { a: b64('one'), b: b64('two') },
      stringData: { b: 'override', c: 'three' },
    });
    expect(s.type).to.equal('Opaque');
    expect(s).to.not.have.property('stringData');
    expect(s.data).to.deep.equal({ a: b64('one'), b: b64('override'), c: b64('three') });
    const updated = await store.guaranteedUpdate('default', 's', (cur) => ({ ...cur, stringData: { d: 'four' } }));
    expect((updated.data as Record<string, string>).d).to.equal(b64('four'));
    expect(updated).to.not.have.property('stringData');
  });

  it('bad base64 is a 400 decode error, as upstream', async () => {
    const store = new FakeStore(secretDef!);
    const err = await rejection(store.create('default', { metadata: { name: 's' }, data: { a: 'not base64!' } }));
    expect(err.code).to.equal(400);
    expect(err.message).to.equal(
      'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3',
    );
    expect(base64ErrorOffset('aGVsbG8=')).to.equal(-1);
    expect(base64ErrorOffset('aGVsbG8')).to.equal(4);
    expect(base64ErrorOffset('aGVs\nbG8=')).to.equal(-1);
  });

  it('validates keys, typed secrets, and type immutability', async () => {
    const store = new FakeStore(secretDef!);
    const badKey = await rejection(store.create('default', { metadata: { name: 's' }, data: { 'a b': b64('x') } }));
    expect(badKey.message).to.contain(
      "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
    );
    const tls = await rejection(
      store.create('default', { metadata: { name: 't' }, type: 'kubernetes.io/tls', data: {} }),
    );
    expect(tls.details!.causes!.map((c) => c.field)).to.deep.equal(['data[tls.crt]', 'data[tls.key]']);
    await store.create('default', { metadata: { name: 'u' }, data: {} });
    const retype = await rejection(
      store.guaranteedUpdate('default', 'u', (cur) => ({ ...cur, type: 'example.com/x' })),
    );
    expect(retype.message).to.contain('type: Invalid value: "example.com/x": field is immutable');
  });

  it('immutable secrets and configmaps refuse data changes', async () => {
    const store = new FakeStore(configMapDef!);
    await store.create('default', { metadata: { name: 'c' }, data: { a: '1' }, immutable: true });
    const err = await rejection(store.guaranteedUpdate('default', 'c', (cur) => ({ ...cur, data: { a: '2' } })));
    expect(err.message).to.contain('data: Forbidden: field is immutable when `immutable` is set');
    const unset = await rejection(store.guaranteedUpdate('default', 'c', (cur) => ({ ...cur, immutable: false })));
    expect(unset.message).to.contain('immutable: Forbidden');
  });

  it('configmaps: string values, no key in both data and binaryData', async () => {
    const store = new FakeStore(configMapDef!);
    const err = await rejection(
      store.create('default', { metadata: { name: 'c' }, data: { a: '1', n: 5 }, binaryData: { a: b64('x') } }),
    );
    const fields = err.details!.causes!.map((c) => c.field);
    expect(fields).to.include.members(['data[a]', 'data[n]']);
    expect(
      (await rejection(store.create('default', { metadata: { name: 'd' }, binaryData: { a: '%%' } }))).code,
    ).to.equal(400);
  });

  it('none of these kinds bump generation; short names and the secret type selector', () => {
    for (const def of configDefinitions) expect(def.strategy?.tracksGeneration, def.kind).to.equal(false);
    expect(configMapDef!.shortNames).to.deep.equal(['cm']);
    expect(saDef!.shortNames).to.deep.equal(['sa']);
    expect(secretDef!.fieldSelectors!.type!({ metadata: {}, type: 'Opaque' })).to.equal('Opaque');
  });
});
