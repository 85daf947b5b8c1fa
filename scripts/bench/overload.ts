/**
 * Overload (issue 17): 300 clients each POST a 3 MB ConfigMap (dryRun, so nothing is stored and
 * only what the requests hold shows) at once, over HTTPS as a user outside system:masters, while
 * a prober asks /livez every 100 ms. Skiff with its default limits (400 read-only / 200 mutating in
 * flight, 32 MiB of bodies held at once) against the same server with every limit off (0), each in
 * a process of its own (overload-server.ts) started fresh, in the same run. Reported: the server's
 * RSS idle, at its peak (VmHWM) and 2 s after the flood; the answers (422, since a ConfigMap may
 * hold 1 MiB, once the body was read and decoded; 429); the probes. Then, on fresh servers,
 * 2,000 watches opened at once (long-running, so never refused) and what they cost.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Agent, request } from 'node:https';
import { fmt, type Row } from './report.js';

const SERVER_SCRIPT = new URL('./overload-server.ts', import.meta.url).pathname;
export const OVERLOAD_MARK = 'overload-server serving: ';
export const OVERLOAD_TOKEN = 'overload-bench-token';
const CLIENTS = 300;
const BODY_BYTES = 3_000_000;
const PROBE_EVERY_MS = 100;
const WATCHES = 2000;
const NO_LIMITS = { maxRequestsInflight: 0, maxMutatingRequestsInflight: 0, maxInflightBodyBytes: 0 };

interface Side {
  url: string;
  ca: string;
  pid: number;
  stop(): Promise<void>;
}

interface SideResult {
  idleMb: number;
  peakMb: number;
  afterMb: number;
  codes: Map<number, number>;
  retryAfterOnAll429: boolean;
  probes: { answered: number; sent: number; slowestMs: number };
  floodMs: number;
}

interface WatchResult {
  open: number;
  growthMb: number;
}

function startSide(settings: object): Promise<Side> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SERVER_SCRIPT, JSON.stringify(settings)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const at = out.indexOf(OVERLOAD_MARK);
      const end = out.indexOf('\n', at);
      if (at < 0 || end < 0) return;
      const { url, ca } = JSON.parse(out.slice(at + OVERLOAD_MARK.length, end));
      const stop = () => {
        child.stdin!.end();
        return exited;
      };
      resolve({ url, ca, pid: child.pid!, stop });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`overload server exited ${code} before serving`)));
  });
}

const memoryMb = (pid: number, field: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

interface Answer {
  status: number;
  retryAfter?: string;
}

function send(side: Side, method: string, path: string, body?: Buffer, agent?: Agent): Promise<Answer> {
  return new Promise((resolve) => {
    const url = new URL(path, side.url);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        ca: side.ca,
        agent: agent ?? false,
        headers: {
          Authorization: `Bearer ${OVERLOAD_TOKEN}`,
          ...(body ? { 'Content-Type': 'application/json', 'Content-Length': body.length } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
      },
    );
    // A server that cuts a request off (or dies) counts as status 0.
    req.on('error', () => resolve({ status: 0 }));
    req.end(body);
  });
}

function configMapBody(): Buffer {
  const head = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"big-"},"data":{"blob":"';
  const tail = '"}}';
  return Buffer.from(head + 'x'.repeat(BODY_BYTES - head.length - tail.length) + tail);
}

/**
 * WATCHES watches on connections of their own (long-running, so no limit applies); resolves once
 * each has its 200 (or failed) with how many did and what they cost, and closes them.
 */
async function watchMany(settings: object): Promise<WatchResult> {
  const side = await startSide(settings);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    return await openWatches(side);
  } finally {
    await side.stop();
  }
}

async function openWatches(side: Side): Promise<WatchResult> {
  const before = memoryMb(side.pid, 'VmRSS');
  const url = new URL('/api/v1/namespaces/default/configmaps?watch=true', side.url);
  const requests: ReturnType<typeof request>[] = [];
  const statuses = await Promise.all(
    Array.from(
      { length: WATCHES },
      () =>
        new Promise<number>((resolve) => {
          const req = request(
            {
              host: url.hostname,
              port: url.port,
              path: url.pathname + url.search,
              ca: side.ca,
              agent: false,
              headers: { Authorization: `Bearer ${OVERLOAD_TOKEN}` },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', () => resolve(0));
          req.end();
          requests.push(req);
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, 1000));
  const growthMb = memoryMb(side.pid, 'VmRSS') - before;
  for (const req of requests) req.destroy();
  return { open: statuses.filter((s) => s === 200).length, growthMb };
}

/** /livez every PROBE_EVERY_MS on a fresh connection, as a kubelet probes, until stopped. */
function probe(side: Side) {
  const probes = { answered: 0, sent: 0, slowestMs: 0 };
  const pending: Promise<void>[] = [];
  const timer = setInterval(() => {
    probes.sent++;
    const started = performance.now();
    pending.push(
      send(side, 'GET', '/livez').then((a) => {
        if (a.status === 200) probes.answered++;
        probes.slowestMs = Math.max(probes.slowestMs, performance.now() - started);
      }),
    );
  }, PROBE_EVERY_MS);
  return async () => {
    clearInterval(timer);
    await Promise.all(pending);
    return probes;
  };
}

async function measure(settings: object): Promise<SideResult> {
  const side = await startSide(settings);
  try {
    const path = '/api/v1/namespaces/default/configmaps?dryRun=All';
    const small = Buffer.from('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"w-"}}');
    for (let i = 0; i < 20; i++) await send(side, 'POST', path, small);
    await new Promise((r) => setTimeout(r, 1000));
    const idleMb = memoryMb(side.pid, 'VmRSS');
    const body = configMapBody();
    const stopProbing = probe(side);
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: CLIENTS }, () => send(side, 'POST', path, body)));
    const floodMs = performance.now() - started;
    const probes = await stopProbing();
    const peakMb = memoryMb(side.pid, 'VmHWM');
    await new Promise((r) => setTimeout(r, 2000));
    const afterMb = memoryMb(side.pid, 'VmRSS');
    const codes = new Map<number, number>();
    for (const a of answers) codes.set(a.status, (codes.get(a.status) ?? 0) + 1);
    const refused = answers.filter((a) => a.status === 429);
    return {
      idleMb,
      peakMb,
      afterMb,
      codes,
      retryAfterOnAll429: refused.every((a) => a.retryAfter === '1'),
      probes,
      floodMs,
    };
  } finally {
    await side.stop();
  }
}

const memory = (r: SideResult) =>
  `${fmt.mb(r.idleMb)} idle → ${fmt.mb(r.peakMb)} peak (+${Math.round(r.peakMb - r.idleMb)}) → ${fmt.mb(r.afterMb)} after`;
const answers = (r: SideResult) =>
  [...r.codes.entries()]
    .sort(([a], [b]) => a - b)
    .map(([code, n]) => `${n}× ${code || 'reset'}`)
    .join(', ') + ` in ${(r.floodMs / 1000).toFixed(1)} s`;
const watchFigures = (r: WatchResult) => `${r.open}/${WATCHES} open, RSS +${Math.round(r.growthMb)} MB`;
const probes = (r: SideResult) =>
  `${r.probes.answered}/${r.probes.sent} /livez 200, slowest ${fmt.ms(r.probes.slowestMs)}`;

export async function benchOverload(): Promise<Row[]> {
  // The baseline first, so the limited side never runs on a host still busy freeing its memory.
  const unlimited = await measure(NO_LIMITS);
  const limited = await measure({});
  const watchesUnlimited = await watchMany(NO_LIMITS);
  const watches = await watchMany({});
  const growth = (r: SideResult) => Math.max(1, r.peakMb - r.idleMb);
  const refused = limited.codes.get(429) ?? 0;
  return [
    {
      scenario: `overload: ${CLIENTS} × 3 MB bodies at once, server RSS`,
      skiff: memory(limited),
      baseline: `${memory(unlimited)} (no limits)`,
      ratio: growth(unlimited) / growth(limited),
      target: 'peak growth <= 1/2 of no limits',
      met: growth(limited) * 2 <= growth(unlimited),
    },
    {
      scenario: 'overload: answers to the flood (422: a 3 MB ConfigMap is over its 1 MiB limit)',
      skiff: answers(limited),
      baseline: `${answers(unlimited)} (no limits)`,
      target: '429 + Retry-After: 1, no resets',
      met: refused > 0 && limited.retryAfterOnAll429 && !limited.codes.has(0),
    },
    {
      scenario: 'overload: health probes during the flood',
      skiff: probes(limited),
      baseline: `${probes(unlimited)} (no limits)`,
      target: 'every probe answered 200',
      met: limited.probes.answered === limited.probes.sent && limited.probes.sent > 0,
    },
    {
      scenario: `overload: ${WATCHES} HTTPS watches (not counted)`,
      skiff: watchFigures(watches),
      baseline: `${watchFigures(watchesUnlimited)} (no limits)`,
      target: 'all open',
      met: watches.open === WATCHES,
    },
  ];
}
