/**
 * Faults of a real `skiff apiserver` on a real etcd, all on loopback:
 * 1. the API server is killed with SIGKILL while clients create: every acknowledged create survives
 *    as it was answered, every failed one is there whole or not at all;
 * 2. etcd is killed and restarted under load: the API answers 503/504 Status errors (never a 500,
 *    never a hang) while it is down, /readyz fails, it recovers by itself, and an open watch goes on
 *    with no gap and no duplicate;
 * 3. the leader of a three-member etcd cluster is killed: reads and writes go on after the election,
 *    and a watch sees the writes made after it.
 * Measured figures are printed, so a slower recovery shows up before it fails a bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  type EtcdCluster,
  type EtcdProcess,
  freePort,
  requireEtcd,
  startEtcd,
  startEtcdCluster,
} from '../helpers/etcd.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
/** No request may take longer than this, whatever etcd does (its request deadline is 10 s). */
const REQUEST_BOUND_MS = 12_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const note = (text: string) => console.log(`      ${text}`);

/** What these tests read of an answer: a metav1.Status, an object, or a list. */
interface Body {
  kind?: string;
  reason?: string;
  code?: number;
  message?: string;
  metadata?: { uid?: string; resourceVersion?: string };
  items?: Item[];
}

interface Answer {
  op: string;
  /** HTTP status, or 0 when no answer came (connection failed, or the bound passed). */
  status: number;
  /** The JSON answer ({} when it was not JSON) and its text. */
  body: Body;
  text: string;
  startedAt: number;
  endedAt: number;
  error?: string;
}

/** One HTTP request that always settles within the bound, recording when it ran and what came back. */
async function call(base: string, op: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const startedAt = Date.now();
  try {
    const res = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_BOUND_MS),
    });
    const text = await res.text();
    return { op, status: res.status, body: parseJson(text), text, startedAt, endedAt: Date.now() };
  } catch (err) {
    return { op, status: 0, body: {}, text: '', startedAt, endedAt: Date.now(), error: (err as Error).name };
  }
}

function parseJson(text: string): Body {
  try {
    return JSON.parse(text) as Body;
  } catch {
    return {}; // health endpoints answer text
  }
}

const configMap = (name: string) => ({ metadata: { name }, data: { name, filler: 'x'.repeat(256) } });

/** A watch line: an object, or (type ERROR) a metav1.Status. */
type WatchEvent = {
  type: string;
  object: { metadata: { name: string; resourceVersion: string }; code?: number; reason?: string };
};

/** A raw HTTP watch read in the background: every event line, and how the stream ended, if it did. */
class WatchStream {
  readonly events: WatchEvent[] = [];
  ended?: string;
  private readonly controller = new AbortController();

  static async open(url: string): Promise<WatchStream> {
    const w = new WatchStream();
    const res = await fetch(url, { signal: w.controller.signal });
    expect(res.status).to.equal(200);
    void w.read(res.body!.getReader());
    return w;
  }

  private async read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    let text = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          this.ended = 'the server ended the stream';
          return;
        }
        text += Buffer.from(value).toString();
        const lines = text.split('\n');
        text = lines.pop() ?? '';
        for (const line of lines.filter(Boolean)) this.events.push(JSON.parse(line) as WatchEvent);
      }
    } catch (err) {
      this.ended = `read failed: ${(err as Error).message}`;
    }
  }

  /** Waits until `count` events arrived (or the stream ended, or `ms` passed). */
  async until(count: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.events.length < count && !this.ended && Date.now() < deadline) await sleep(25);
  }

  close(): void {
    this.controller.abort();
  }
}

type Item = { metadata: { name: string; uid: string; resourceVersion: string }; data?: Record<string, string> };

async function listConfigMaps(base: string): Promise<{ items: Item[]; resourceVersion: string }> {
  const list = await call(base, 'list', 'GET', CONFIGMAPS);
  expect(list.status, list.text).to.equal(200);
  return { items: list.body.items!, resourceVersion: list.body.metadata!.resourceVersion! };
}

/** The objects created after `rv` (nothing is updated here), in revision order. */
const createdAfter = (items: Item[], rv: string) =>
  items
    .filter((i) => Number(i.metadata.resourceVersion) > Number(rv))
    .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));

/** What a watch opened at `fromRv` must have delivered: every object created after it, in revision order, once. */
function expectWatchMatches(watch: WatchStream, items: Item[], fromRv: string): void {
  const created = createdAfter(items, fromRv).map((i) => `ADDED ${i.metadata.name} ${i.metadata.resourceVersion}`);
  const seen = watch.events.map((e) =>
    e.type === 'ERROR'
      ? `ERROR ${e.object.code} ${e.object.reason}`
      : `${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`,
  );
  expect(seen, `watch ended: ${watch.ended ?? 'no'}`).to.deep.equal(created);
}

/** A 503 or 504 metav1.Status, the only failures an etcd outage may cause. */
function expectUnavailableStatus(a: Answer): void {
  const what = `${a.op} answered ${a.status} ${a.error ?? ''} ${a.text}`;
  expect(a.status, what).to.be.oneOf([503, 504]);
  expect(a.body.kind, what).to.equal('Status');
  expect(a.body.reason, what).to.equal(a.status === 503 ? 'ServiceUnavailable' : 'Timeout');
  expect(a.body.code, what).to.equal(a.status);
}

/** Clients issuing GET, LIST and CREATE in a loop until stopped; every answer is kept. */
function startLoad(base: string, clients: number): { stop(): Promise<Answer[]> } {
  const answers: Answer[] = [];
  let stopped = false;
  const client = async (c: number) => {
    for (let i = 0; !stopped && i < 5000; i++) {
      answers.push(await call(base, 'get', 'GET', `${CONFIGMAPS}/seed`));
      answers.push(await call(base, 'list', 'GET', `${CONFIGMAPS}?limit=20`));
      answers.push(await call(base, 'create', 'POST', CONFIGMAPS, configMap(`load-${c}-${i}`)));
      // While etcd is down every answer is immediate: pace the loop so the outage is not a busy loop.
      await sleep(20);
    }
  };
  const running = Array.from({ length: clients }, (_, c) => client(c));
  return {
    async stop() {
      stopped = true;
      await Promise.all(running);
      return answers;
    },
  };
}

/** /readyz?verbose every 250 ms for `ms`: every answer. */
async function pollReadyz(base: string, ms: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(250)) {
    answers.push(await call(base, 'readyz', 'GET', '/readyz?verbose'));
  }
  return answers;
}

/** A create, a GET and a LIST, again until all three succeed: when they did, and every answer until then. */
async function untilServing(base: string, tag: string, ms: number): Promise<{ at: number; answers: Answer[] }> {
  const answers: Answer[] = [];
  for (let i = 0, deadline = Date.now() + ms; Date.now() < deadline; i++) {
    const round = [
      await call(base, 'create', 'POST', CONFIGMAPS, configMap(`${tag}-${i}`)),
      await call(base, 'get', 'GET', `${CONFIGMAPS}/seed`),
      await call(base, 'list', 'GET', `${CONFIGMAPS}?limit=5`),
    ];
    answers.push(...round);
    if (round.every((a) => a.status < 300)) return { at: Date.now(), answers };
    await sleep(50);
  }
  throw new Error(`the API did not serve again within ${ms} ms; last: ${answers.at(-1)?.text}`);
}

const failuresOf = (answers: Answer[]) => answers.filter((a) => a.status < 200 || a.status >= 300);

describe('e2e: Skiff on etcd under faults', function () {
  this.timeout(60_000);
  const processes: SkiffProcess[] = [];
  const dirs: string[] = [];
  const watches: WatchStream[] = [];
  const etcds: (EtcdProcess | EtcdCluster)[] = [];

  before(function () {
    requireEtcd(this);
  });

  after(async () => {
    for (const w of watches) w.close();
    killAll(processes);
    await Promise.all(processes.map((p) => p.exited().catch(() => undefined)));
    for (const e of etcds) await e.remove();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-etcd-faults-'));
    dirs.push(dir);
    return dir;
  };

  /** `skiff apiserver` on etcd as a child process, serving plain HTTP on the given loopback port. */
  async function apiserver(
    etcdServers: string[],
    port: number,
    dataDir: string,
  ): Promise<{ base: string; server: SkiffProcess }> {
    const child = spawnSkiff([
      'apiserver',
      '--storage-backend',
      'etcd',
      '--etcd-servers',
      etcdServers.join(','),
      '--insecure-port',
      String(port),
      '--secure-port',
      '0',
      '--data-dir',
      dataDir,
      '--log-level',
      'info',
    ]);
    processes.push(child);
    await child.waitForLine('the API server to be ready', (l) => l.msg === 'ready', 30_000);
    return { base: `http://127.0.0.1:${port}`, server: child };
  }

  it('kill -9 of the API server loses no acknowledged create and half-writes none', async () => {
    const etcd = await startEtcd();
    etcds.push(etcd);
    const port = await freePort();
    const dataDir = tempDir();
    const { base, server } = await apiserver([etcd.url], port, dataDir);
    const answers: Answer[] = [];
    let stop = false;
    // Each writer goes on until its connection fails (the server is gone) or the bound is reached.
    const writer = async (w: number) => {
      for (let i = 0; !stop && i < 2000; i++) {
        const a = await call(base, `w${w}-${i}`, 'POST', CONFIGMAPS, configMap(`w${w}-${i}`));
        answers.push(a);
        if (a.status === 0) return;
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    const deadline = Date.now() + 10_000;
    while (answers.filter((a) => a.status === 201).length < 300 && Date.now() < deadline) await sleep(10);
    server.child.kill('SIGKILL');
    await server.exited();
    stop = true;
    await Promise.all(writers);

    await apiserver([etcd.url], port, dataDir);
    const present = new Map((await listConfigMaps(base)).items.map((i) => [i.metadata.name, i]));
    const acknowledged = answers.filter((a) => a.status === 201);
    const failed = answers.filter((a) => a.status !== 201);
    const applied = failed.filter((a) => present.has(a.op)).length;
    note(
      `${acknowledged.length} creates acknowledged; ${failed.length} unanswered at the kill, ${applied} of them applied`,
    );
    expect(acknowledged.length).to.be.greaterThan(100);
    for (const a of acknowledged) {
      const found = present.get(a.op);
      expect(found, `acknowledged ${a.op} lost`).to.not.equal(undefined);
      expect(found!.metadata.uid).to.equal(a.body.metadata?.uid);
      expect(found!.metadata.resourceVersion).to.equal(a.body.metadata?.resourceVersion);
      expect(found!.data).to.deep.equal(configMap(a.op).data);
    }
    // A create the server never answered (it died) is there whole, or not at all; nothing else failed.
    for (const a of failed) {
      expect(a.status, `${a.op}: ${a.text}`).to.equal(0);
      const found = present.get(a.op);
      if (found) expect(found.data).to.deep.equal(configMap(a.op).data);
    }
    const attempted = new Set(answers.map((a) => a.op));
    expect([...present.keys()].filter((n) => !attempted.has(n))).to.deep.equal([]);
  });

  it('an etcd restart under load: 503s while it is down, /readyz fails, then recovery by itself; a watch goes on', async () => {
    const etcd = await startEtcd();
    etcds.push(etcd);
    const { base } = await apiserver([etcd.url], await freePort(), tempDir());
    expect((await call(base, 'seed', 'POST', CONFIGMAPS, configMap('seed'))).status).to.equal(201);
    const { resourceVersion: watchFrom } = await listConfigMaps(base);
    const watch = await WatchStream.open(`${base}${CONFIGMAPS}?watch=1&resourceVersion=${watchFrom}`);
    watches.push(watch);
    const load = startLoad(base, 3);
    await sleep(1000);

    await etcd.kill();
    const downAt = Date.now();
    const readyz = await pollReadyz(base, 3000);
    const restartAt = Date.now();
    await etcd.start();
    const readyAt = Date.now();
    const probe = await untilServing(base, 'probe', 15_000);
    await sleep(1000); // the load goes on a while after the recovery
    const answers = [...(await load.stop()), ...probe.answers];

    const failures = failuresOf(answers);
    const during = answers.filter((a) => a.startedAt >= downAt && a.endedAt < restartAt);
    const slowest = Math.max(...answers.map((a) => a.endedAt - a.startedAt));
    const lastFailure = Math.max(...failures.map((a) => a.endedAt));
    note(
      `etcd down ${seconds(readyAt - downAt)} (restart ${seconds(readyAt - restartAt)}); ${failures.length} of ` +
        `${answers.length} requests failed, the last ${seconds(lastFailure - readyAt)} after etcd was ready; ` +
        `slowest answer ${seconds(slowest)}; GET, LIST and CREATE all served ${seconds(probe.at - readyAt)} after it`,
    );
    for (const a of failures) expectUnavailableStatus(a);
    // Every request made while etcd was down failed, and each kind of request was made then.
    expect(during.filter((a) => a.status >= 200 && a.status < 300).map((a) => a.op)).to.deep.equal([]);
    expect([...new Set(during.map((a) => a.op))].sort()).to.deep.equal(['create', 'get', 'list']);
    expect(slowest, 'an answer took too long').to.be.below(6000);
    expect(probe.at - readyAt).to.be.below(10_000);
    for (const r of readyz) expect(`${r.status} ${r.text}`).to.match(/^500 [\s\S]*\[-\]storage failed/);
    expect((await call(base, 'readyz', 'GET', '/readyz')).status).to.equal(200);

    // The watch opened before the outage delivers every create after it, those after the restart too.
    const { items } = await listConfigMaps(base);
    await watch.until(createdAfter(items, watchFrom).length, 10_000);
    expectWatchMatches(watch, items, watchFrom);
    expect(watch.ended).to.equal(undefined);
  });

  it('kill -9 of the etcd leader in a three-member cluster: reads, writes and watches go on', async () => {
    const cluster = await startEtcdCluster(3);
    etcds.push(cluster);
    const { base, server } = await apiserver(cluster.urls, await freePort(), tempDir());
    expect((await call(base, 'seed', 'POST', CONFIGMAPS, configMap('seed'))).status).to.equal(201);
    const { resourceVersion: watchFrom } = await listConfigMaps(base);
    const watch = await WatchStream.open(`${base}${CONFIGMAPS}?watch=1&resourceVersion=${watchFrom}`);
    watches.push(watch);
    expect((await call(base, 'before', 'POST', CONFIGMAPS, configMap('before-failover'))).status).to.equal(201);

    const leader = await cluster.leader();
    await leader.kill();
    const killedAt = Date.now();
    const failover = await untilServing(base, 'failover', 10_000);
    const newLeader = await cluster.leader();
    // Then the API keeps serving, whichever member each request is sent to: longer than the client's
    // breaker waits (2 s) before it tries the dead member again.
    const steady: Answer[] = [];
    for (let i = 0, until = Date.now() + 4500; Date.now() < until; i++) {
      steady.push(await call(base, 'create', 'POST', CONFIGMAPS, configMap(`after-failover-${i}`)));
      steady.push(await call(base, 'get', 'GET', `${CONFIGMAPS}/seed`));
      steady.push(await call(base, 'list', 'GET', `${CONFIGMAPS}?limit=5`));
    }
    // Each resource's watch cache has its own etcd watch stream, on a member picked at random.
    const resumed = server.lines.filter((l) => l.msg === 'etcd watch resumed').length;
    note(
      `leader ${leader.name} killed; GET, LIST and CREATE served again after ${seconds(failover.at - killedAt)} ` +
        `(${failuresOf(failover.answers).length} failed before), new leader ${newLeader.name}; ` +
        `${failuresOf(steady).length} of ${steady.length} requests failed after that; ` +
        `${resumed} storage watches were on the dead member and resumed on another`,
    );
    expect(newLeader.name).to.not.equal(leader.name);
    for (const a of failuresOf(failover.answers)) expectUnavailableStatus(a);
    expect(failover.at - killedAt).to.be.below(10_000);
    expect(failuresOf(steady).map((a) => `${a.op} ${a.status} ${a.body.message}`)).to.deep.equal([]);

    const { items } = await listConfigMaps(base);
    await watch.until(createdAfter(items, watchFrom).length, 10_000);
    expectWatchMatches(watch, items, watchFrom);
    expect(watch.ended).to.equal(undefined);
  });
});
