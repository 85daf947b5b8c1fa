/**
 * kube-apiserver's --event-ttl: an event nothing has written for the TTL is deleted (upstream: its
 * etcd lease runs out; here a sweep deletes it), and one written since is kept.
 */
import { expect } from 'chai';
import { Command } from 'commander';
import { pino } from 'pino';
import type { KubeObject } from '../../../core/api/types.js';
import { addPluginFlags, pluginFlagOverlay } from '../../../core/cli/plugin-flags.js';
import { EventExpiry, lastWrittenAt } from '../../../plugins/api-core-v1/event-ttl.js';
import plugin from '../../../plugins/api-core-v1/index.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const EVENTS = { group: '', version: 'v1', resource: 'events' };
const event = (name: string, extra: Record<string, unknown> = {}) =>
  ({
    metadata: { name, namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'p' },
    reason: 'Tested',
    message: name,
    ...extra,
  }) as unknown as KubeObject;

describe('api-core-v1: --event-ttl', function () {
  this.timeout(30_000);

  it('is a flag of skiff up and skiff apiserver in Go duration syntax', () => {
    const command = new Command('skiff').exitOverride().configureOutput({ writeErr: () => {} });
    const declared = addPluginFlags(command, [plugin], 'up');
    command.parse(['--event-ttl', '1h30m'], { from: 'user' });
    expect(pluginFlagOverlay(declared, command.opts()).configure).to.deep.equal({
      'api-core-v1': { eventTTLSeconds: 5400 },
    });
    const bad = new Command('skiff').exitOverride().configureOutput({ writeErr: () => {} });
    addPluginFlags(bad, [plugin], 'apiserver');
    expect(() => bad.parse(['--event-ttl', 'an hour'], { from: 'user' })).to.throw(/expected a duration/);
  });

  it('an event was last written at the newest of its timestamps and its field managers’ times', () => {
    const e = event('e', {
      firstTimestamp: '2026-01-01T00:00:00Z',
      lastTimestamp: '2026-01-01T00:05:00Z',
      series: { lastObservedTime: '2026-01-01T00:07:00.123456Z' },
    });
    e.metadata.creationTimestamp = '2026-01-01T00:00:00Z';
    (e.metadata as { managedFields?: unknown[] }).managedFields = [{ time: '2026-01-01T00:06:00Z' }, {}];
    expect(lastWrittenAt(e)).to.equal(Date.parse('2026-01-01T00:07:00.123Z'));
  });

  describe('against a server', () => {
    let ts: TestServer;
    before(async () => {
      ts = await startTestServer({ plugins: { 'api-core-v1': { config: { eventTTLSeconds: 1 } } } });
    });
    after(() => ts?.close());

    it('a sweep deletes what expired and keeps what was written within the TTL', async () => {
      // A server with the default TTL, whose own sweeps delete nothing while this one runs.
      const hourly = await startTestServer();
      try {
        await sweepOnce(hourly);
      } finally {
        await hourly.close();
      }
    });

    async function sweepOnce(server: TestServer): Promise<void> {
      const client = server.server.client();
      await client.create(EVENTS, 'default', event('stale'));
      const later = new Date(Date.now() + 30 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
      await client.create(EVENTS, 'default', event('rewritten', { lastTimestamp: later }));
      const expiry = new EventExpiry(client, 3600, pino({ level: 'silent' }));
      // An hour and a minute on: "stale" has not been written for the TTL, "rewritten" has.
      expect(await expiry.sweep(Date.now() + 61 * 60_000)).to.equal(1);
      const left = await client.list(EVENTS, 'default');
      expect(left.items.map((e) => e.metadata.name)).to.deep.equal(['rewritten']);
    }

    it('the server sweeps by itself: an event is gone once the TTL has passed, not before', async () => {
      const created = Date.now();
      expect((await api(ts.url, 'POST', '/api/v1/namespaces/default/events', event('short-lived'))).status).to.equal(
        201,
      );
      let gone = 0;
      for (let i = 0; i < 100 && !gone; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const r = await api(ts.url, 'GET', '/api/v1/namespaces/default/events/short-lived');
        if (r.status === 404) gone = Date.now();
      }
      expect(gone, 'the event should be deleted within 10 s').to.be.greaterThan(0);
      // creationTimestamp has whole seconds: the TTL counts from the second it was written in.
      expect(gone - created).to.be.at.least(1000 - (created % 1000));
    });
  });
});
