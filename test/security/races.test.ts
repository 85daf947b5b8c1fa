/**
 * Chapter: races.
 *
 * The attack: send many requests at the same moment, betting that the server checks, then acts, and
 * that another request slips in between: 100 pod creates against a quota of 10 (a time-of-check to
 * time-of-use race on the quota's usage), 50 updates carrying the same resourceVersion (a lost
 * update: each believes it read the latest version), 50 creates of one name (two objects, or one
 * silently replaced), 50 deletes of one object (deleted twice, finalizers or cascades run twice).
 *
 * The upstream defence: optimistic concurrency in storage. Every write is a compare-and-swap on the
 * object's mod revision (etcd transactions): a create fails if the key exists (409 AlreadyExists),
 * an update whose resourceVersion is not the current one fails (409 Conflict, "the object has been
 * modified"). The ResourceQuota admission plugin charges a quota by such a guarded update of its
 * status before the object is stored, retries on conflict, and refuses when unsure.
 *
 * Where Skiff implements it: the storage contract (core/storage/types.ts; create, update and delete
 * guarded by the expected revision) in plugins/storage-sqlite (the guard checked inside the committing transaction), the
 * generic store (core/api/store/generic-store.ts: preconditions, 409s in upstream's words), and
 * plugins/admission-resource-quota (charge.ts: per-namespace batches, compare-and-swap of
 * status.used, refund and retry on conflict, refuse after five tries). These run on SQLite, the
 * default durable backend, over HTTPS, as a user who is not system:masters.
 *
 * PATCH races (stale resourceVersion in a patch body) are in patch-preconditions.test.ts.
 */
import { Agent } from 'node:https';
import { expect } from 'chai';
import { type HttpsAnswer, httpsRequest, type Scratch, scratchDir, tokenLine } from '../helpers/security.js';
import { api, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'dev-token';
const NS = '/api/v1/namespaces/race';
const pod = (name: string) => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

function countStatuses(answers: HttpsAnswer[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}

/** Follows a watch and records every status.used.pods of the quota, until stop() is called. */
function recordQuotaUsage(base: string, path: string): { seen: number[]; stop(): Promise<void> } {
  const seen: number[] = [];
  const abort = new AbortController();
  const done = (async () => {
    const res = await fetch(`${base}${path}`, { signal: abort.signal });
    const reader = res.body!.getReader();
    let pending = '';
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended) return;
      pending += Buffer.from(value).toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines.filter(Boolean)) {
        const used = JSON.parse(line).object?.status?.used?.pods;
        if (used !== undefined) seen.push(Number(used));
      }
    }
  })().catch((err: Error) => {
    if (err.name !== 'AbortError') throw err;
  });
  return {
    seen,
    async stop() {
      abort.abort();
      await done;
    },
  };
}

describe('security: concurrent requests cannot win a race against the checks', function () {
  this.timeout(30_000);
  let ts: TestServer;
  let files: Scratch;
  let agent: Agent;

  before(async () => {
    files = scratchDir('races');
    ts = await startTestServer({
      secure: true,
      storage: 'sqlite',
      role: 'up',
      plugins: {
        'authn-token-file': { config: { tokenAuthFile: files.file('tokens.csv', tokenLine(TOKEN, 'dev', '1')) } },
        // The quota controller acts as system:kube-controller-manager: its bootstrap roles let it.
        'authz-bootstrap-roles': {},
        'authz-abac': {
          config: { policyFile: files.file('policy.jsonl', '{"user":"dev","namespace":"race","resource":"*"}\n') },
        },
        'admission-resource-quota': {},
        'controller-resource-quota': { config: { settleSeconds: 0.2 } },
      },
    });
    expect((await api(ts.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'race' } })).status).to.equal(201);
    // Many sockets, kept alive: the requests reach the server together rather than one by one.
    agent = new Agent({ keepAlive: true, maxSockets: 100, ca: ts.pki!.ca.certPem });
  });
  after(async () => {
    agent?.destroy();
    await ts?.close();
    files?.remove();
  });

  const dev = (method: string, path: string, body?: unknown) =>
    httpsRequest(ts, `${NS}${path}`, { token: TOKEN, method, body, agent });
  const all = <T>(n: number, make: (i: number) => Promise<T>) =>
    Promise.all(Array.from({ length: n }, (_, i) => make(i)));

  it('quota pods=10, 100 concurrent pod creates → exactly 10 × 201 and 90 × 403; status.used never over 10', async () => {
    const quota = { metadata: { name: 'ten' }, spec: { hard: { pods: '10' } } };
    expect((await api(ts.url, 'POST', `${NS}/resourcequotas`, quota)).status).to.equal(201);
    await waitFor(
      'the quota controller to fill status.used',
      async () => (await api(ts.url, 'GET', `${NS}/resourcequotas/ten`)).body,
      (q) => q.status?.used?.pods === '0',
    );
    const usage = recordQuotaUsage(ts.url, `${NS}/resourcequotas?watch=1&fieldSelector=metadata.name%3Dten`);
    const answers = await all(100, (i) => dev('POST', '/pods', pod(`p${i}`)));
    expect(countStatuses(answers)).to.deep.equal({ 201: 10, 403: 90 });
    const refusal = answers.find((a) => a.status === 403)!;
    expect(refusal.body.reason).to.equal('Forbidden');
    expect(refusal.body.message).to.match(
      /^pods "p\d+" is forbidden: exceeded quota: ten, requested: pods=1, used: pods=10, limited: pods=10$/,
    );
    const pods = await api(ts.url, 'GET', `${NS}/pods`);
    expect(pods.body.items).to.have.length(10);
    await waitFor(
      'status.used to settle',
      async () => (await api(ts.url, 'GET', `${NS}/resourcequotas/ten`)).body.status.used.pods,
      (used) => used === '10',
    );
    await usage.stop();
    expect(usage.seen.length, 'the watch saw the quota being charged').to.be.greaterThan(1);
    expect(Math.max(...usage.seen), `status.used.pods seen: ${usage.seen.join(',')}`).to.equal(10);
  });

  it('50 concurrent PUTs with the same resourceVersion → exactly 1 × 200 and 49 × 409 Conflict; the winner’s data stays', async () => {
    const created = await dev('POST', '/configmaps', { metadata: { name: 'shared' }, data: { writer: 'none' } });
    expect(created.status).to.equal(201);
    const { resourceVersion } = created.body.metadata;
    const answers = await all(50, (i) =>
      dev('PUT', '/configmaps/shared', { metadata: { name: 'shared', resourceVersion }, data: { writer: `w${i}` } }),
    );
    expect(countStatuses(answers)).to.deep.equal({ 200: 1, 409: 49 });
    const loser = answers.find((a) => a.status === 409)!;
    expect(loser.body).to.include({
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on configmaps "shared": the object has been modified; please apply your changes to the latest version and try again',
    });
    const winner = answers.find((a) => a.status === 200)!;
    const stored = await dev('GET', '/configmaps/shared');
    expect(stored.body.data).to.deep.equal(winner.body.data);
    expect(stored.body.metadata.resourceVersion).to.equal(winner.body.metadata.resourceVersion);
  });

  it('50 concurrent creates of one name → exactly 1 × 201 and 49 × 409 AlreadyExists; the stored object is the winner’s', async () => {
    const answers = await all(50, (i) =>
      dev('POST', '/configmaps', { metadata: { name: 'once' }, data: { creator: `c${i}` } }),
    );
    expect(countStatuses(answers)).to.deep.equal({ 201: 1, 409: 49 });
    expect(answers.find((a) => a.status === 409)!.body).to.include({
      reason: 'AlreadyExists',
      message: 'configmaps "once" already exists',
    });
    const winner = answers.find((a) => a.status === 201)!;
    const stored = await dev('GET', '/configmaps/once');
    expect(stored.body.metadata.uid).to.equal(winner.body.metadata.uid);
    expect(stored.body.data).to.deep.equal(winner.body.data);
  });

  it('50 concurrent deletes of one object → exactly 1 × 200 and 49 × 404 NotFound', async () => {
    expect((await dev('POST', '/configmaps', { metadata: { name: 'doomed' } })).status).to.equal(201);
    const answers = await all(50, () => dev('DELETE', '/configmaps/doomed'));
    expect(countStatuses(answers)).to.deep.equal({ 200: 1, 404: 49 });
    expect(answers.find((a) => a.status === 404)!.body).to.include({
      reason: 'NotFound',
      message: 'configmaps "doomed" not found',
    });
  });
});
