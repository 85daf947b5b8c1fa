/**
 * The HTTPS client against a real server on loopback: the same answers and errors as the in-process
 * client, watches in order across stops and timeouts, and an informer that outlives a restart.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import type { KubeObject } from '../../../core/api/types.js';
import { CONTROLLER_MANAGER_IDENTITY } from '../../../core/auth/pki.js';
import { discoverNamespacedResources } from '../../../core/client/discovery.js';
import { JsonLineDecoder } from '../../../core/client/http-wire.js';
import { fromKubeconfig, HttpsClient } from '../../../core/client/https-client.js';
import { Informer } from '../../../core/client/informer.js';
import { CORE_V1, type WatchEvent } from '../../../core/client/types.js';
import { isStatusError, SkiffError, type StatusError } from '../../../core/errors.js';
import { issueCertificate } from '../../../plugins/pki-local/certificates.js';
import { buildKubeconfig } from '../../../plugins/pki-local/kubeconfig.js';
import { LocalPki } from '../../../plugins/pki-local/local-pki.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tempDir } from '../../helpers/temp-dirs.js';
import { waitFor } from '../../helpers/wait.js';

const CONFIGMAPS = CORE_V1('configmaps');
const SELF_REVIEWS = { group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews' };

async function whoami(client: HttpsClient): Promise<{ username: string; groups: string[] }> {
  const r = await client.create(SELF_REVIEWS, '', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'SelfSubjectReview',
    metadata: {},
  });
  return (r.status as { userInfo: { username: string; groups: string[] } }).userInfo;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Collects a watch's events until `count` have arrived (bounded). */
function collect(client: HttpsClient, resourceVersion: string, count: number, namespace = 'default') {
  const events: WatchEvent[] = [];
  let reached!: () => void;
  const enough = new Promise<void>((res) => {
    reached = res;
  });
  const handle = client.watch(CONFIGMAPS, namespace, { resourceVersion }, (e) => {
    events.push(e);
    if (events.length >= count) reached();
  });
  const wait = () =>
    Promise.race([
      enough,
      new Promise((_, rej) => setTimeout(() => rej(new Error(`got ${events.length} of ${count} events`)), 5_000)),
    ]);
  return { events, handle, wait };
}

const summary = (events: WatchEvent[]) => events.map((e) => `${e.type} ${e.object.metadata.name}`);

describe('core/client/https-client: an ApiClient over HTTPS', () => {
  let ts: TestServer;
  let dir: string;
  let cm: HttpsClient;
  let admin: HttpsClient;
  const clients: HttpsClient[] = [];
  const track = (c: HttpsClient) => {
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = tempDir('skiff-https-client-');
    const tokens = join(dir, 'tokens.csv');
    writeFileSync(tokens, 'tok123,alice,1001\n');
    ts = await startTestServer({
      secure: true,
      storage: 'sqlite',
      plugins: {
        'authn-x509': {},
        'authn-token-file': { config: { tokenAuthFile: tokens } },
        // The controller manager's certificate acts as system:kube-controller-manager, an ordinary
        // user with upstream's bootstrap roles (only system:masters bypasses the chain).
        'authz-bootstrap-roles': {},
      },
    });
    const { caPem, ...pair } = new LocalPki(ts.dataDir, { ownsCA: false }).clientCredentials(
      CONTROLLER_MANAGER_IDENTITY,
    );
    cm = track(new HttpsClient({ server: ts.secureUrl!, ca: caPem, cert: pair.certPem, key: pair.keyPem }));
    admin = track(fromKubeconfig(ts.kubeconfig!));
  });
  after(async () => {
    for (const c of clients) c.close();
    await ts?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('acts as its certificate says: the admin kubeconfig, and the controller manager', async () => {
    expect((await whoami(admin)).username).to.equal('kubernetes-admin');
    const me = await whoami(cm);
    expect(me.username).to.equal('system:kube-controller-manager');
    expect(me.groups).to.include('system:authenticated');
  });

  it('reads a kubeconfig with files relative to it, and tokens', async () => {
    writeFileSync(join(dir, 'ca.crt'), ts.pki!.ca.certPem);
    const file = join(dir, 'token.kubeconfig');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", certificate-authority: ca.crt}}]',
        'users: [{name: u, user: {token: tok123}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    );
    // --master overrides the file's server, as upstream's does.
    const alice = track(fromKubeconfig(file, { server: ts.secureUrl! }));
    expect((await whoami(alice)).username).to.equal('alice');
  });

  it('get, list, create, update and delete answer as in-process', async () => {
    const made = await cm.create(CONFIGMAPS, 'default', {
      metadata: { name: 'a', labels: { app: 'x' } },
      data: { k: 'v' },
    } as KubeObject);
    expect(made.metadata.uid).to.be.a('string');
    const got = await cm.get(CONFIGMAPS, 'default', 'a');
    expect(got.metadata.resourceVersion).to.equal(made.metadata.resourceVersion);
    const list = await cm.list(CONFIGMAPS, 'default', { labelSelector: 'app=x' });
    expect(list.kind).to.equal('ConfigMapList');
    expect(list.items.map((i) => i.metadata.name)).to.deep.equal(['a']);
    const updated = await cm.update(CONFIGMAPS, 'default', { ...got, data: { k: 'w' } } as KubeObject);
    expect((updated as { data?: Record<string, string> }).data).to.deep.equal({ k: 'w' });
    await cm.delete(CONFIGMAPS, 'default', 'a');
    expect((await cm.list(CONFIGMAPS, 'default', { labelSelector: 'app=x' })).items).to.have.length(0);
  });

  // As the admin: upstream's controller-manager roles grant no patch of ConfigMaps.
  it('patches with each of the three patch types', async () => {
    await admin.create(CONFIGMAPS, 'default', { metadata: { name: 'p' }, data: { a: '1' } } as KubeObject);
    await admin.patch(CONFIGMAPS, 'default', 'p', 'merge', { data: { b: '2' } });
    await admin.patch(CONFIGMAPS, 'default', 'p', 'strategic', { metadata: { labels: { s: 'yes' } } });
    const last = await admin.patch(CONFIGMAPS, 'default', 'p', 'json', [{ op: 'remove', path: '/data/a' }]);
    expect((last as { data?: Record<string, string> }).data).to.deep.equal({ b: '2' });
    expect(last.metadata.labels).to.deep.equal({ s: 'yes' });
    await admin.delete(CONFIGMAPS, 'default', 'p');
  });

  it('a 404, a 409 and a 403 are StatusErrors with upstream reasons', async () => {
    const missing = (await rejection(cm.get(CONFIGMAPS, 'default', 'nope'))) as StatusError;
    expect(isStatusError(missing)).to.equal(true);
    expect([missing.code, missing.reason]).to.deep.equal([404, 'NotFound']);
    expect(missing.message).to.equal('configmaps "nope" not found');
    expect(missing.toStatus().details).to.deep.include({ name: 'nope', kind: 'configmaps' });

    await cm.create(CONFIGMAPS, 'default', { metadata: { name: 'dup' } } as KubeObject);
    const dup = (await rejection(
      cm.create(CONFIGMAPS, 'default', { metadata: { name: 'dup' } } as KubeObject),
    )) as StatusError;
    expect([dup.code, dup.reason]).to.deep.equal([409, 'AlreadyExists']);
    const stale = (await rejection(
      cm.update(CONFIGMAPS, 'default', { metadata: { name: 'dup', resourceVersion: '1' } } as KubeObject),
    )) as StatusError;
    expect([stale.code, stale.reason]).to.deep.equal([409, 'Conflict']);
    const pre = (await rejection(
      cm.delete(CONFIGMAPS, 'default', 'dup', { preconditions: { uid: 'not-its-uid' } }),
    )) as StatusError;
    expect(pre.code).to.equal(409);

    const alice = track(new HttpsClient({ server: ts.secureUrl!, ca: ts.pki!.ca.certPem, token: 'tok123' }));
    const denied = (await rejection(alice.list(CONFIGMAPS, 'default'))) as StatusError;
    expect([denied.code, denied.reason]).to.deep.equal([403, 'Forbidden']);
  });

  it('delete options travel together in the body, as client-go sends them: a dry run with preconditions deletes nothing', async () => {
    const made = await admin.create(CONFIGMAPS, 'default', { metadata: { name: 'dry' } } as KubeObject);
    const options = {
      dryRun: true,
      propagationPolicy: 'Background' as const,
      preconditions: { uid: made.metadata.uid },
    };
    for (const client of [admin, ts.server.client()]) {
      await client.delete(CONFIGMAPS, 'default', 'dry', options);
      expect((await admin.get(CONFIGMAPS, 'default', 'dry')).metadata.uid, 'still there').to.equal(made.metadata.uid);
    }
    await admin.delete(CONFIGMAPS, 'default', 'dry', { preconditions: { uid: made.metadata.uid } });
    expect(((await rejection(admin.get(CONFIGMAPS, 'default', 'dry'))) as StatusError).code).to.equal(404);
  });

  it('watch: events in order, from a resourceVersion', async () => {
    const from = (await cm.list(CONFIGMAPS, 'default')).metadata.resourceVersion;
    const w = collect(cm, from, 4);
    const obj = await cm.create(CONFIGMAPS, 'default', { metadata: { name: 'w1' } } as KubeObject);
    await cm.update(CONFIGMAPS, 'default', { ...obj, data: { x: '1' } } as KubeObject);
    await cm.create(CONFIGMAPS, 'default', { metadata: { name: 'w2' } } as KubeObject);
    await cm.delete(CONFIGMAPS, 'default', 'w1');
    await w.wait();
    w.handle.stop();
    await w.handle.done;
    expect(summary(w.events)).to.deep.equal(['ADDED w1', 'MODIFIED w1', 'ADDED w2', 'DELETED w1']);
  });

  it('watch across a stop: nothing after stop(), and the next watch resumes where it left off', async () => {
    const from = (await cm.list(CONFIGMAPS, 'default')).metadata.resourceVersion;
    const first = collect(cm, from, 1);
    await cm.create(CONFIGMAPS, 'default', { metadata: { name: 's1' } } as KubeObject);
    await first.wait();
    first.handle.stop();
    await first.handle.done;
    await cm.create(CONFIGMAPS, 'default', { metadata: { name: 's2' } } as KubeObject);
    await cm.create(CONFIGMAPS, 'default', { metadata: { name: 's3' } } as KubeObject);
    const second = collect(cm, first.events[0]!.object.metadata.resourceVersion!, 2);
    await second.wait();
    second.handle.stop();
    expect(summary(first.events)).to.deep.equal(['ADDED s1']);
    expect(summary(second.events)).to.deep.equal(['ADDED s2', 'ADDED s3']);
  });

  it('watch: a large object split over many chunks, and timeoutSeconds ends it', async () => {
    const from = (await cm.list(CONFIGMAPS, 'default')).metadata.resourceVersion;
    const started = Date.now();
    const events: WatchEvent[] = [];
    const h = cm.watch(CONFIGMAPS, 'default', { resourceVersion: from, timeoutSeconds: 1 }, (e) => events.push(e));
    const big = 'ü'.repeat(300_000); // two bytes each: chunk boundaries fall inside characters too
    await cm.create(CONFIGMAPS, 'default', { metadata: { name: 'big' }, data: { big } } as KubeObject);
    await h.done;
    expect(Date.now() - started).to.be.within(900, 4_000);
    expect(events).to.have.length(1);
    expect((events[0]!.object as unknown as { data: { big: string } }).data.big).to.equal(big);
  });

  it('watch refused at the start: one ERROR event with the Status, then done', async () => {
    const alice = track(new HttpsClient({ server: ts.secureUrl!, ca: ts.pki!.ca.certPem, token: 'tok123' }));
    const events: WatchEvent[] = [];
    const h = alice.watch(CONFIGMAPS, 'default', {}, (e) => events.push(e));
    await h.done;
    expect(events).to.have.length(1);
    expect(events[0]!.type).to.equal('ERROR');
    expect(events[0]!.object).to.deep.include({ kind: 'Status', code: 403, reason: 'Forbidden' });
  });

  it('an unreachable server: a coded SkiffError (not a Status), and a watch ends with an ERROR event', async () => {
    const nowhere = track(new HttpsClient({ server: 'https://127.0.0.1:1', ca: ts.pki!.ca.certPem }));
    const err = await rejection(nowhere.get(CONFIGMAPS, 'default', 'x'));
    expect(isStatusError(err)).to.equal(false);
    expect(err).to.be.instanceOf(SkiffError);
    expect((err as SkiffError).code).to.equal('SKIFF_API_UNREACHABLE');
    expect((err as SkiffError).fix).to.contain('--master');
    const events: WatchEvent[] = [];
    await nowhere.watch(CONFIGMAPS, 'default', {}, (e) => events.push(e)).done;
    expect(events.map((e) => [e.type, e.object.code])).to.deep.equal([['ERROR', 503]]);
  });

  it('a closed client refuses new requests and watches at once (nothing left for a stopping controller to wait on)', async () => {
    const c = new HttpsClient(cm.options);
    const hanging = c.watch(CONFIGMAPS, 'default', {}, () => {});
    await c.list(CONFIGMAPS, 'default'); // the watch is open by now
    c.close();
    await hanging.done;
    const err = (await rejection(c.get(CONFIGMAPS, 'default', 'x'))) as SkiffError;
    expect(err.code).to.equal('SKIFF_API_CLIENT_CLOSED');
    const events: WatchEvent[] = [];
    await c.withUserAgent('other').watch(CONFIGMAPS, 'default', {}, (e) => events.push(e)).done;
    expect(events.map((e) => e.type)).to.deep.equal(['ERROR']);
  });

  it("trusting a CA that did not sign the server's certificate fails the handshake: SKIFF_API_TLS", async () => {
    const other = issueCertificate(ts.pki!.ca, { commonName: 'x', usage: 'client' });
    const wrong = track(new HttpsClient({ server: ts.secureUrl!, ca: other.certPem }));
    const err = (await rejection(wrong.get(CONFIGMAPS, 'default', 'x'))) as SkiffError;
    expect(err.code).to.equal('SKIFF_API_TLS');
  });

  it('discovery gives the namespaced resources the server registry holds', async () => {
    const remote = await discoverNamespacedResources(cm);
    const registry = ts.server.api.registry;
    const local = registry
      .all()
      .filter((d) => d.namespaced && !d.virtualCreate)
      .map((d) => `${d.group}/${d.version}/${d.plural}`);
    expect(remote.map((r) => `${r.group}/${r.version}/${r.resource}`).sort()).to.deep.equal(local.sort());
    expect(remote.map((r) => r.resource))
      .to.include('configmaps')
      .and.not.include('namespaces');
  });

  it('an informer over this client syncs, follows changes, and survives an API server restart', async function () {
    this.timeout(30_000);
    const port = Number(new URL(ts.secureUrl!).port);
    const client = track(fromKubeconfig(ts.kubeconfig!));
    const informer = new Informer(client, CONFIGMAPS, pino({ level: 'silent' }), 'default');
    const abort = new AbortController();
    const seen: string[] = [];
    const running = informer.run(abort.signal, (type, obj) => seen.push(`${type} ${obj.metadata.name}`));
    try {
      await informer.hasSynced();
      await client.create(CONFIGMAPS, 'default', { metadata: { name: 'before' } } as KubeObject);
      await waitFor(
        'the informer sees "before"',
        async () => seen,
        (s) => s.includes('ADDED before'),
        5_000,
      );

      await ts.close({ keepData: true });
      ts = await startTestServer({
        secure: true,
        securePort: port,
        storage: 'sqlite',
        dataDir: ts.dataDir,
        plugins: { 'authn-x509': {} },
      });
      await ts.server.client().create(CONFIGMAPS, 'default', { metadata: { name: 'after' } } as KubeObject);
      await waitFor(
        'the informer sees "after"',
        async () => seen,
        (s) => s.includes('ADDED after'),
        15_000,
      );
      expect(informer.items.has('default/before')).to.equal(true);
    } finally {
      abort.abort();
      await running;
    }
  });
});

describe('core/client/http-wire: JsonLineDecoder and kubeconfig errors', () => {
  it('parses only complete lines, whatever the chunk boundaries', () => {
    const text = Buffer.from('{"a":"ü"}\n{"b":2}\n{"c":3}');
    for (let cut = 1; cut < text.length; cut++) {
      const d = new JsonLineDecoder();
      const out = [...d.push(text.subarray(0, cut)), ...d.push(text.subarray(cut)), ...d.end()];
      expect(out, `cut at ${cut}`).to.deep.equal([{ a: 'ü' }, { b: 2 }, { c: 3 }]);
    }
    const d = new JsonLineDecoder();
    const bytes = [...text];
    const out = bytes.flatMap((b) => d.push(Buffer.from([b])));
    expect([...out, ...d.end()]).to.have.length(3);
  });

  it('a kubeconfig user with a certificate but no key is a coded error', () => {
    const dir = tempDir('skiff-kc-');
    try {
      const yaml = buildKubeconfig({ server: 'https://127.0.0.1:6443', caPem: 'x', user: 'u', token: 't' });
      const file = join(dir, 'k');
      writeFileSync(file, yaml.replace('token: t', 'client-certificate-data: eA=='));
      expect(() => fromKubeconfig(file)).to.throw(SkiffError, /client certificate or a key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
