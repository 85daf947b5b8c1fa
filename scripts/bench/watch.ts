/** WATCH fan-out: N watchers in another process, paced writes; against a raw encode-once fan-out server. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBenchServer } from './fixtures.js';
import { fmt, type Row } from './report.js';

const EVENTS = 200;
const INTERVAL_MS = 10;
const CLIENT = new URL('./watch-client.ts', import.meta.url).pathname;

interface WatchResult {
  delivered: number;
  seconds: number;
  p99Lag: number;
}

async function withClient(url: string, watchers: number, write: (i: number) => Promise<void>): Promise<WatchResult> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', CLIENT, url, String(watchers), String(EVENTS), '60000'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  const line = (pred: (s: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = out.split('\n').find(pred);
        if (found) resolve(found);
      };
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        check();
      });
      child.on('exit', () => reject(new Error(`watch client exited early: ${out}`)));
    });
  try {
    await line((l) => l === 'ready');
    const result = line((l) => l.startsWith('{'));
    for (let i = 0; i < EVENTS; i++) {
      const started = performance.now();
      await write(i);
      const wait = INTERVAL_MS - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return JSON.parse(await result) as WatchResult;
  } finally {
    child.kill();
  }
}

async function skiffRun(watchers: number): Promise<WatchResult> {
  const s = await startBenchServer();
  try {
    const client = s.server.client();
    const ns = { group: '', version: 'v1', resource: 'namespaces' };
    const cms = { group: '', version: 'v1', resource: 'configmaps' };
    await client.create(ns, '', { metadata: { name: 'bench-watch' } });
    const cm = await client.create(cms, 'bench-watch', { metadata: { name: 'w' }, data: { payload: 'x'.repeat(512) } });
    const url = `${s.url}/api/v1/namespaces/bench-watch/configmaps?watch=1&resourceVersion=${cm.metadata.resourceVersion}`;
    return await withClient(url, watchers, async () => {
      const res = await fetch(`${s.url}/api/v1/namespaces/bench-watch/configmaps/w`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: JSON.stringify({ metadata: { annotations: { 'bench/t': String(Date.now()) } } }),
      });
      await res.arrayBuffer();
    });
  } finally {
    await s.close();
  }
}

/** The baseline: encode each event once and write the same Buffer to every open response. */
async function rawRun(watchers: number): Promise<WatchResult> {
  const open = new Set<ServerResponse>();
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    open.add(res);
    res.on('close', () => open.delete(res));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    return await withClient(url, watchers, async (i) => {
      const object = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'w',
          namespace: 'bench-watch',
          resourceVersion: String(i + 10),
          annotations: { 'bench/t': String(Date.now()) },
        },
        data: { payload: 'x'.repeat(512) },
      };
      const buf = Buffer.from(`${JSON.stringify({ type: 'MODIFIED', object })}\n`);
      for (const res of open) res.write(buf);
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

export async function benchWatch(watcherCounts: number[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of watcherCounts) {
    const skiff = await skiffRun(n);
    const raw = await rawRun(n);
    const rate = (r: WatchResult) => r.delivered / Math.max(r.seconds, 0.001);
    const complete = skiff.delivered === n * EVENTS;
    rows.push({
      scenario: `WATCH fan-out to ${n.toLocaleString('en-US')} watchers, ${EVENTS} events`,
      skiff: `${fmt.rps(rate(skiff))} delivered, p99 lag ${fmt.ms(skiff.p99Lag)}${complete ? '' : `, only ${skiff.delivered}`}`,
      baseline: `${fmt.rps(rate(raw))}, p99 lag ${fmt.ms(raw.p99Lag)} (raw encode-once fan-out)`,
      ratio: rate(skiff) / rate(raw),
      target: 'ratio >= 0.5, p99 lag <= 100 ms',
      met: complete && rate(skiff) / rate(raw) >= 0.5 && skiff.p99Lag <= 100,
    });
  }
  return rows;
}
