/**
 * storage-etcd against real etcd processes (test/helpers/etcd.ts); skipped, saying why, without etcd.
 *
 * The conformance suite asserts absolute revisions (an empty store is at 0, its first write is 1),
 * and etcd's revision is global to an etcd: so each conformance store gets an etcd of its own (one
 * is started ahead while the previous test runs). The other tests share one etcd, each under a
 * fresh key prefix.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Etcd3 } from 'etcd3';
import { pino } from 'pino';
import { SkiffError } from '../../core/errors.js';
import type { PluginContext } from '../../core/plugins/contract.js';
import { type Storage, StorageError, StorageUnavailableError, ValueTooLargeError } from '../../core/storage/types.js';
import { createCertificateAuthority, issueCertificate } from '../../plugins/pki-local/certificates.js';
import { EtcdStorage, type EtcdStorageOptions } from '../../plugins/storage-etcd/etcd-storage.js';
import plugin, { type EtcdStorageConfig } from '../../plugins/storage-etcd/index.js';
import { type EtcdProcess, freePort, requireEtcd, startEtcd } from '../helpers/etcd.js';
import { api, startTestServer } from '../helpers/server.js';
import { storageConformance } from './conformance.js';
import { collect, rejection, waitFor } from './helpers.js';

let prefixes = 0;
const freshPrefix = () => `/skiff-test-${process.pid}-${++prefixes}`;

/** Fresh etcds for the conformance suite, the next one starting while the current test runs. */
class EtcdPool {
  private spare?: Promise<EtcdProcess>;
  private readonly used: EtcdProcess[] = [];

  async take(): Promise<EtcdProcess> {
    const etcd = await (this.spare ?? startEtcd());
    this.spare = startEtcd();
    this.spare.catch(() => {}); // reported by the take() that awaits it
    // The suite closed the previous test's store before this open.
    for (const old of this.used.splice(0)) await old.remove();
    this.used.push(etcd);
    return etcd;
  }

  async drain(): Promise<void> {
    const spare = await this.spare?.catch(() => undefined);
    for (const e of [...this.used.splice(0), ...(spare ? [spare] : [])]) await e.remove();
  }
}

describe('storage-etcd', function () {
  this.timeout(30_000);
  before(function () {
    requireEtcd(this);
  });

  describe('on a fresh etcd per store', () => {
    const pool = new EtcdPool();
    after(() => pool.drain());
    storageConformance('etcd', async () => {
      const etcd = await pool.take();
      return EtcdStorage.open({ servers: [etcd.url], prefix: freshPrefix(), progressIntervalMs: 50 });
    });
  });

  describe('on a shared etcd', () => {
    let etcd: EtcdProcess;
    const stores: EtcdStorage[] = [];
    const open = async (options: Partial<EtcdStorageOptions> = {}) => {
      const store = await EtcdStorage.open({ servers: [etcd.url], prefix: freshPrefix(), ...options });
      stores.push(store);
      return store;
    };
    before(async () => {
      etcd = await startEtcd();
    });
    afterEach(async () => {
      for (const s of stores.splice(0)) await s.close();
    });
    after(() => etcd?.remove());

    it('refuses a value over etcd request limit with ValueTooLargeError, and keeps working', async () => {
      const store = await open();
      for (const size of [1_600_000, 3_000_000]) {
        const err = await rejection(store.create('/registry/configmaps/ns/big', 'x'.repeat(size)));
        expect(err, `${size} bytes`).to.be.instanceOf(ValueTooLargeError).and.include({ limitBytes: 1572864 });
      }
      expect((await store.create('/registry/configmaps/ns/small', 'x')).modRevision).to.be.greaterThan(0);
    });

    it('explains an etcd that cannot be reached', async () => {
      const err = await rejection(
        EtcdStorage.open({ servers: ['http://127.0.0.1:1'], dialTimeoutMs: 300, prefix: freshPrefix() }),
      );
      expect(err).to.be.instanceOf(SkiffError).and.include({ code: 'SKIFF_STORAGE_ETCD_CONNECT' });
      expect((err as SkiffError).fix).to.include('--etcd-servers');
    });

    it('sends a request it could not send to a dead server to the next one, reads and writes alike', async () => {
      // Nothing listens on the first server: gRPC fails every call picked for it before sending it.
      const store = await open({ servers: [`http://127.0.0.1:${await freePort()}`, etcd.url] });
      for (let i = 0; i < 20; i++) {
        await store.create(`/registry/configmaps/ns/c${i}`, 'x');
        expect((await store.get(`/registry/configmaps/ns/c${i}`))?.value).to.equal('x');
      }
    });

    it('keeps the API keys under the prefix in etcd, in the layout upstream uses', async () => {
      const prefix = freshPrefix();
      const store = await open({ prefix });
      const raw = new Etcd3({ hosts: etcd.url });
      try {
        await store.create('/registry/pods/default/web', '{"kind":"Pod"}');
        expect((await raw.get(`${prefix}/pods/default/web`).string()) ?? '').to.equal('{"kind":"Pod"}');
        await raw.put(`${prefix}/pods/default/other`).value('written elsewhere');
        const listed = await store.list('/registry/pods/default/');
        expect(listed.items.map((kv) => kv.key)).to.deep.equal([
          '/registry/pods/default/other',
          '/registry/pods/default/web',
        ]);
        expect((await store.list('/registry/')).items).to.have.length(2);
        expect(await rejection(store.get('/elsewhere/x'))).to.be.instanceOf(StorageError);
      } finally {
        raw.close();
      }
    });

    it('lets two stores on one etcd and prefix (two Skiff servers) share keys, watches and guards', async () => {
      const prefix = freshPrefix();
      const a = await open({ prefix });
      const b = await open({ prefix });
      const seen = collect(b, '/registry/pods/', await b.currentRevision());
      const created = await a.create('/registry/pods/ns/p', 'v1');
      expect(await b.get('/registry/pods/ns/p')).to.deep.equal(created);
      await b.update('/registry/pods/ns/p', 'v2', created.modRevision);
      const stale = await rejection(a.update('/registry/pods/ns/p', 'v3', created.modRevision));
      expect(stale).to.have.property('name', 'RevisionMismatchError');
      const events = await seen.until(2);
      expect(events.map((e) => `${e.type} ${e.value} ${e.prevValue ?? '-'}`)).to.deep.equal([
        'create v1 -',
        'update v2 v1',
      ]);
    });

    it('answers requestProgress once the events before it were delivered', async () => {
      const store = await open({ progressIntervalMs: 60_000 });
      const seen: string[] = [];
      const w = store.watch('/registry/a/', {
        fromRevision: await store.currentRevision(),
        onEvent: (e) => seen.push(`event ${e.revision}`),
        onProgress: (r) => seen.push(`progress ${r}`),
      });
      const a = await store.create('/registry/a/1', 'x');
      const b = await store.create('/registry/b/1', 'x');
      w.requestProgress!();
      await waitFor(
        () => seen.length >= 2,
        3000,
        () => seen.join(),
      );
      expect(seen).to.deep.equal([`event ${a.modRevision}`, `progress ${b.modRevision}`]);
      w.cancel();
    });

    it('compacts, by the clock, to the revision that was current a window ago', async () => {
      let now = 1_000_000;
      const store = await open({ compactionWindowSeconds: 300, now: () => now });
      const start = await store.currentRevision();
      const before = await store.compactedRevision();
      const a = await store.create('/registry/pods/ns/a', '1');
      await store.update('/registry/pods/ns/a', '2', a.modRevision);
      now += 200_000;
      expect(await store.compactExpired()).to.equal(before);
      now += 101_000;
      expect(await store.compactExpired()).to.equal(Math.max(before, start));
      now += 200_000;
      expect(await store.compactExpired()).to.equal(start + 2);
      expect((await store.get('/registry/pods/ns/a'))!.value).to.equal('2');
    });

    it('sees a compaction by another client in compactedRevision, reads and watches', async () => {
      const store = await open();
      const other = new Etcd3({ hosts: etcd.url });
      try {
        const first = await store.create('/registry/pods/ns/a', 'a1');
        await store.update('/registry/pods/ns/a', 'a2', first.modRevision);
        const last = await store.create('/registry/pods/ns/b', 'b1');
        // etcd's revision is Skiff's plus one.
        await other.kv.compact({ revision: last.modRevision + 1 });
        expect(await store.compactedRevision()).to.equal(last.modRevision);
        const err = await rejection(store.list('/registry/pods/', { revision: first.modRevision }));
        expect(err).to.have.property('name', 'CompactedError');
        expect(err).to.include({ requested: first.modRevision, compacted: last.modRevision });
        const watchErr = await collect(store, '/registry/pods/', first.modRevision).failed();
        expect(watchErr).to.have.property('name', 'CompactedError');
      } finally {
        other.close();
      }
    });
  });

  describe('when etcd goes away and comes back', () => {
    let etcd: EtcdProcess;
    before(async () => {
      etcd = await startEtcd();
    });
    after(() => etcd?.remove());

    it('answers StorageUnavailableError within a bounded time, then works again by itself, watches resumed', async () => {
      const store = await EtcdStorage.open({ servers: [etcd.url], requestTimeoutMs: 2000, progressIntervalMs: 100 });
      try {
        const c = collect(store, '/registry/pods/', 0);
        await store.create('/registry/pods/ns/before', 'x');
        await c.until(1);
        await etcd.stop();
        const started = Date.now();
        expect(await rejection(store.get('/registry/pods/ns/before'))).to.be.instanceOf(StorageUnavailableError);
        expect(await rejection(store.create('/registry/pods/ns/during', 'x'))).to.be.instanceOf(
          StorageUnavailableError,
        );
        expect(Date.now() - started).to.be.below(5000);
        await etcd.start();
        const back = Date.now();
        for (;;) {
          const ok = await store.create('/registry/pods/ns/after', 'x').then(
            () => true,
            () => false,
          );
          if (ok) break;
          expect(Date.now() - back, 'the store did not recover within 15 s').to.be.below(15_000);
          await new Promise((r) => setTimeout(r, 200));
        }
        const events = await c.until(2, 10_000);
        expect(events.map((e) => e.key)).to.deep.equal(['/registry/pods/ns/before', '/registry/pods/ns/after']);
        expect(c.errors).to.deep.equal([]);
      } finally {
        await store.close();
      }
    });
  });

  describe('over TLS with client certificates', () => {
    let etcd: EtcdProcess;
    let dir: string;
    let files: Record<'ca' | 'cert' | 'key' | 'otherCa', string>;
    before(async function () {
      requireEtcd(this);
      dir = mkdtempSync(join(tmpdir(), 'skiff-etcd-tls-'));
      const ca = createCertificateAuthority('etcd-test-ca');
      const server = issueCertificate(ca, { commonName: 'etcd', usage: 'server', ipAddresses: ['127.0.0.1'] });
      const client = issueCertificate(ca, { commonName: 'skiff-apiserver', usage: 'client' });
      const write = (name: string, pem: string) => {
        const path = join(dir, name);
        writeFileSync(path, pem);
        return path;
      };
      files = {
        ca: write('ca.crt', ca.certPem),
        cert: write('client.crt', client.certPem),
        key: write('client.key', client.keyPem),
        otherCa: write('other-ca.crt', createCertificateAuthority('someone-else').certPem),
      };
      etcd = await startEtcd({
        tls: {
          certFile: write('server.crt', server.certPem),
          keyFile: write('server.key', server.keyPem),
          trustedCaFile: files.ca,
        },
      });
    });
    after(async () => {
      await etcd?.remove();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('works with the CA and a client certificate', async () => {
      const store = await EtcdStorage.open({
        servers: [etcd.url],
        caFile: files.ca,
        certFile: files.cert,
        keyFile: files.key,
        prefix: freshPrefix(),
      });
      try {
        const kv = await store.create('/registry/secrets/ns/s', 'over TLS');
        expect(await store.get('/registry/secrets/ns/s')).to.deep.equal(kv);
      } finally {
        await store.close();
      }
    });

    it('explains a missing client certificate, an unknown CA and an unreadable file', async () => {
      const attempt = (o: Partial<EtcdStorageOptions>) =>
        rejection(EtcdStorage.open({ servers: [etcd.url], dialTimeoutMs: 500, ...o }));
      for (const o of [{ caFile: files.ca }, { caFile: files.otherCa, certFile: files.cert, keyFile: files.key }]) {
        const err = await attempt(o);
        expect(err, JSON.stringify(o)).to.be.instanceOf(SkiffError).and.include({ code: 'SKIFF_STORAGE_ETCD_CONNECT' });
        expect((err as SkiffError).fix).to.include('--etcd-cafile');
      }
      const missing = await attempt({ caFile: join(dir, 'nope.crt') });
      expect(missing).to.be.instanceOf(SkiffError).and.include({ code: 'SKIFF_STORAGE_ETCD_TLS' });
      expect(missing.message).to.include('--etcd-cafile').and.include('nope.crt');
    });
  });

  describe('the plugin', () => {
    let etcd: EtcdProcess;
    before(async () => {
      etcd = await startEtcd();
    });
    after(() => etcd?.remove());

    it('has a strict config schema with defaults, and checks TLS settings', () => {
      expect(plugin.name).to.equal('storage-etcd');
      expect(plugin.config!.parse({})).to.deep.equal({
        servers: ['http://127.0.0.1:2379'],
        prefix: '/registry',
        compactionWindowSeconds: 300,
        compactionIntervalSeconds: 60,
        dialTimeoutSeconds: 20,
        requestTimeoutSeconds: 10,
        maxRequestBytes: 1572864,
        maxWritesInFlight: 1,
      });
      expect(plugin.config!.parse({ prefix: '/skiff/a/' }).prefix).to.equal('/skiff/a');
      for (const bad of [
        { server: ['http://x:2379'] },
        { servers: ['127.0.0.1:2379'] },
        { servers: ['https://a:2379', 'http://b:2379'] },
        { caFile: '/ca.crt' },
        { servers: ['https://a:2379'], certFile: '/c.crt' },
        { prefix: 'registry' },
      ]) {
        expect(() => plugin.config!.parse(bad), JSON.stringify(bad)).to.throw();
      }
    });

    it('connects only when the server opens the backend', async () => {
      const offered = new Map<string, () => Promise<Storage>>();
      const ctx = (config: unknown) =>
        ({
          name: 'storage-etcd',
          config: plugin.config!.parse(config),
          logger: pino({ level: 'silent' }),
          provide: { storageBackend: (name: string, openIt: () => Promise<Storage>) => offered.set(name, openIt) },
        }) as unknown as PluginContext<EtcdStorageConfig>;
      await plugin.setup(ctx({ servers: ['http://127.0.0.1:1'], dialTimeoutSeconds: 0.3 }));
      const err = await rejection(offered.get('etcd')!());
      expect(err).to.be.instanceOf(SkiffError).and.include({ code: 'SKIFF_STORAGE_ETCD_CONNECT' });
      await plugin.setup(ctx({ servers: [etcd.url], prefix: freshPrefix() }));
      const store = await offered.get('etcd')!();
      expect(store.backend).to.equal('etcd');
      await store.create('/registry/k/v', 'x');
      expect(plugin.close, 'the server closes the store it opened').to.equal(undefined);
      await store.close();
    });

    it('skiff up --etcd-servers selects and configures the etcd backend, as upstream', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'skiff-etcd-cli-'));
      const prefix = freshPrefix();
      const bin = new URL('../../scripts/skiff.mjs', import.meta.url).pathname;
      const args = ['up', '--etcd-servers', etcd.url, '--etcd-prefix', prefix, '--data-dir', dataDir];
      const child = spawn(process.execPath, [bin, ...args, '--insecure-port', 'auto', '--secure-port', '0']);
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      try {
        const deadline = Date.now() + 20_000;
        while (!/"msg":"ready"/.test(out) && Date.now() < deadline && child.exitCode === null) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const opened = out.split('\n').find((l) => l.includes('opened etcd store'));
        expect(opened, out).to.be.a('string');
        expect(JSON.parse(opened!)).to.deep.include({ servers: [etcd.url], prefix });
        const port = /insecure port on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1];
        const namespaces = await api(`http://127.0.0.1:${port}`, 'GET', '/api/v1/namespaces');
        expect(namespaces.body.items.map((n: { metadata: { name: string } }) => n.metadata.name)).to.include('default');
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    it('serves pods over HTTP from etcd: create, get, list, watch', async () => {
      const prefix = freshPrefix();
      const ts = await startTestServer({ storage: 'etcd', storageConfig: { servers: [etcd.url], prefix } });
      try {
        const call = (method: string, path: string, body?: unknown) => api(ts.url, method, path, body);
        expect((await call('POST', '/api/v1/namespaces', { metadata: { name: 'on-etcd' } })).status).to.equal(201);
        const pods = '/api/v1/namespaces/on-etcd/pods';
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'web' },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        };
        const created = await call('POST', pods, pod);
        expect(created.status).to.equal(201);
        const got = await call('GET', `${pods}/web`);
        expect(got.status, JSON.stringify(got.body)).to.equal(200);
        expect(got.body.metadata.resourceVersion).to.equal(created.body.metadata.resourceVersion);
        const list = await call('GET', pods);
        expect(list.body.items.map((p: { metadata: { name: string } }) => p.metadata.name)).to.deep.equal(['web']);
        const watch = await fetch(`${ts.url}${pods}?watch=1&resourceVersion=${list.body.metadata.resourceVersion}`);
        const reader = watch.body!.getReader();
        await call('DELETE', `${pods}/web`);
        const { value } = await reader.read();
        const event = JSON.parse(Buffer.from(value!).toString().split('\n')[0]!);
        expect(event.type).to.equal('DELETED');
        expect(event.object.metadata.name).to.equal('web');
        await reader.cancel();
        const raw = new Etcd3({ hosts: etcd.url });
        const keys = await raw.getAll().prefix(`${prefix}/namespaces/`).keys();
        raw.close();
        expect(keys).to.include(`${prefix}/namespaces/on-etcd`);
      } finally {
        await ts.close();
      }
    });
  });
});
