/** Informers on the in-process client: they share the watch cache's objects, frozen, instead of copies. */
import { expect } from 'chai';
import { pino } from 'pino';
import type { KubeObject } from '../../../core/api/types.js';
import { deepFreeze } from '../../../core/client/deep-freeze.js';
import { Informer } from '../../../core/client/informer.js';
import { CORE_V1, type WatchEvent } from '../../../core/client/types.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';

const CONFIG_MAPS = CORE_V1('configmaps');
const logger = pino({ level: 'silent' });

describe('Informer over the in-process client', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(() => s.close());

  it('holds and hands out deep-frozen objects, from the list and from the watch', async () => {
    const client = s.server.client();
    await client.create(CONFIG_MAPS, 'default', { metadata: { name: 'listed' }, data: { a: '1' } });
    const informer = new Informer(client, CONFIG_MAPS, logger, 'default');
    const seen: [string, KubeObject][] = [];
    const stop = new AbortController();
    const running = informer.run(stop.signal, (type, obj) => seen.push([type, obj]));
    await informer.hasSynced();
    await client.create(CONFIG_MAPS, 'default', { metadata: { name: 'watched' }, data: { a: '1' } });
    await waitFor(
      'the watched ADDED',
      async () => seen.length,
      (n) => n >= 2,
    );
    stop.abort();
    await running;
    for (const [, obj] of seen) {
      expect(Object.isFrozen(obj), obj.metadata.name).to.equal(true);
      expect(Object.isFrozen(obj.metadata)).to.equal(true);
      expect(Object.isFrozen(obj.data)).to.equal(true);
      expect(() => {
        (obj.data as Record<string, string>).a = '2';
      }).to.throw(TypeError);
    }
    expect([...informer.items.keys()].sort()).to.deep.equal(['default/listed', 'default/watched']);
    // What the server serves was not touched by the attempts above.
    const served = await client.get(CONFIG_MAPS, 'default', 'watched');
    expect(served.data).to.deep.equal({ a: '1' });
  });

  it('a plain watch still hands every caller a copy of its own', async () => {
    const client = s.server.client();
    const events: WatchEvent[] = [];
    const handle = client.watch(CONFIG_MAPS, 'default', {}, (e) => events.push(e));
    await client.create(CONFIG_MAPS, 'default', { metadata: { name: 'mine' }, data: { a: '1' } });
    await waitFor(
      'the ADDED',
      async () => events.length,
      (n) => n >= 1,
    );
    handle.stop();
    const obj = events[0]!.object;
    expect(Object.isFrozen(obj)).to.equal(false);
    (obj.data as Record<string, string>).a = 'changed';
    expect((await client.get(CONFIG_MAPS, 'default', 'mine')).data).to.deep.equal({ a: '1' });
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects and arrays, and leaves primitives alone', () => {
    const obj = deepFreeze({ a: { b: [{ c: 1 }] }, d: 'x', e: null });
    expect(Object.isFrozen(obj.a.b[0])).to.equal(true);
    expect(Object.isFrozen(obj.a.b)).to.equal(true);
    expect(deepFreeze(3)).to.equal(3);
  });

  it('freezes managedFields entries, and of fieldsV1 (opaque to clients) only its top', () => {
    const fieldsV1 = { 'f:metadata': { 'f:labels': {} } };
    const obj = deepFreeze({ metadata: { managedFields: [{ manager: 'm', fieldsV1 }] } });
    expect(Object.isFrozen(obj.metadata.managedFields)).to.equal(true);
    expect(Object.isFrozen(obj.metadata.managedFields[0])).to.equal(true);
    expect(Object.isFrozen(fieldsV1)).to.equal(true);
    expect(Object.isFrozen(fieldsV1['f:metadata'])).to.equal(false);
  });
});
