/**
 * Chapter: durability under a crash.
 *
 * The attack: kill the API server (kill -9: no shutdown hook, no flush) while clients are writing,
 * hoping for a lost acknowledged write (a client was told 201 and the object is gone: a denial an
 * audit cannot see) or a half-written object (a torn record the server then serves, or cannot
 * start with).
 *
 * The upstream defence: kube-apiserver answers a write only after etcd committed it to a quorum's
 * write-ahead log with fsync; a transaction is all or nothing; the revision only moves forward.
 *
 * Where Skiff implements it: plugins/storage-sqlite (the default backend: SQLite in WAL mode with
 * synchronous=FULL; writes are committed, several to a transaction (group commit), before the
 * store's promise resolves, so before the 201 leaves), and the store contract
 * (core/storage/types.ts: one global revision).
 * test/e2e/durability.test.ts and test/storage/durability.test.ts hold the longer runs; this one is
 * short: `skiff apiserver` as a real child process over HTTPS, 10 writers for about a second,
 * SIGKILL, a restart on the same data directory.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type HttpsTarget, httpsRequest } from '../helpers/security.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
/** Each object's content is derived from its name, so a torn or mixed-up record shows. */
const payloadOf = (name: string) => `${name}:`.repeat(400);

interface Running {
  process: SkiffProcess;
  target: HttpsTarget;
  admin: { certPem: string; keyPem: string };
}

describe('security: kill -9 under concurrent writes loses no acknowledged write and tears no object', function () {
  this.timeout(40_000);
  let dir: string;
  const processes: SkiffProcess[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-sec-durability-'));
  });
  after(() => {
    killAll(processes);
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<Running> {
    const p = spawnSkiff(['apiserver', '--data-dir', dir, '--secure-port', 'auto', '--log-level', 'info']);
    processes.push(p);
    const serving = await p.waitForLine('HTTPS', (l) =>
      /serving HTTPS on https:\/\/127\.0\.0\.1:\d+/.test(String(l.msg)),
    );
    await p.waitForLine('ready', (l) => l.msg === 'ready');
    const pem = (name: string) => readFileSync(join(dir, 'pki', name), 'utf8');
    return {
      process: p,
      target: { secureUrl: /https:\/\/[\d.:]+/.exec(String(serving.msg))![0], pki: { ca: { certPem: pem('ca.crt') } } },
      admin: { certPem: pem('admin.crt'), keyPem: pem('admin.key') },
    };
  }

  it('every create answered 201 before the kill is there after restart, whole; the revision goes on from there', async () => {
    const first = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 10, ca: first.target.pki!.ca.certPem });
    const acknowledged = new Map<string, string>(); // name → resourceVersion
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop && i < 10_000; i++) {
        const name = `w${w}-${i}`;
        try {
          const r = await httpsRequest(first.target, CONFIGMAPS, {
            client: first.admin,
            agent,
            method: 'POST',
            body: { metadata: { name }, data: { payload: payloadOf(name) } },
          });
          if (r.status === 201) acknowledged.set(name, r.body.metadata.resourceVersion);
        } catch {
          return; // the server is gone
        }
      }
    };
    const writers = Array.from({ length: 10 }, (_, w) => writer(w));
    // Write for at least a second and until 300 creates are acknowledged (10 s at most), then kill.
    const earliest = Date.now() + 1_000;
    const deadline = Date.now() + 10_000;
    while ((acknowledged.size < 300 || Date.now() < earliest) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    first.process.child.kill('SIGKILL');
    expect(await first.process.exited()).to.equal('SIGKILL');
    stop = true;
    await Promise.all(writers);
    agent.destroy();
    expect(acknowledged.size, 'writes acknowledged before the kill').to.be.greaterThan(100);

    const second = await start();
    const list = await httpsRequest(second.target, CONFIGMAPS, { client: second.admin });
    expect(list.status).to.equal(200);
    const stored = new Map<string, { data: { payload: string }; metadata: { resourceVersion: string } }>(
      list.body.items.map((i: { metadata: { name: string } }) => [i.metadata.name, i]),
    );
    const lost = [...acknowledged.keys()].filter((n) => !stored.has(n));
    expect(lost, `${lost.length} of ${acknowledged.size} acknowledged creates lost`).to.deep.equal([]);
    const torn = [...stored].filter(([name, o]) => o.data?.payload !== payloadOf(name)).map(([name]) => name);
    expect(torn, 'objects whose content is not what was written').to.deep.equal([]);
    const moved = [...acknowledged].filter(([name, rv]) => stored.get(name)!.metadata.resourceVersion !== rv);
    expect(moved, 'objects whose resourceVersion changed across the crash').to.deep.equal([]);

    const highest = Math.max(...[...stored.values()].map((o) => Number(o.metadata.resourceVersion)));
    const after = await httpsRequest(second.target, CONFIGMAPS, {
      client: second.admin,
      method: 'POST',
      body: { metadata: { name: 'after-restart' } },
    });
    expect(after.status, after.text).to.equal(201);
    expect(Number(after.body.metadata.resourceVersion)).to.be.greaterThan(highest);
    second.process.child.kill('SIGTERM');
    expect(await second.process.exited()).to.equal(0);
  });
});
