/**
 * The kubelet's server (`npm run bench -- kubelet-server`, needs root): an exec round trip (`true`)
 * over WebSocket v5 and over SPDY/3.1 beside the runtime's own execSync of the same command;
 * 100 MB through port-forward (WebSocket channels, SPDY) beside the same transfer on a direct
 * socket to the pod; and what resource stats cost — one sample of 20 running pods beside the
 * runtime's own stats calls it makes, and a /stats/summary request served from the sample.
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { StatsProvider } from '../../plugins/node-kubelet/stats/provider.js';
import { HTTP_SERVER, PODS, podSpec, waitFor } from '../../test/plugins/node-kubelet/helpers.js';
import {
  kubeletRequest,
  type ServerHarness,
  startServerHarness,
} from '../../test/plugins/node-kubelet/server-helpers.js';
import { SpdyClient, upgrade } from '../../test/plugins/node-kubelet/spdy-client.js';
import { fmt, type Row } from './report.js';

const ROUND_TRIPS = 40;
const MEGABYTES = 100;
const STATS_PODS = 20;

/** A server on 9000 that sends MEGABYTES MiB to each connection, then closes it. */
const BULK_SERVER = [
  'node',
  '-e',
  `process.on('SIGTERM',()=>process.exit(0));require('net').createServer(s=>{const b=Buffer.alloc(1<<20,120);let n=${MEGABYTES};const w=()=>{while(n>0){n--;if(!s.write(b))return s.once('drain',w)}s.end()};w()}).listen(9000)`,
];

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function timed(n: number, run: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return times;
}

function wsExec(h: ServerHarness, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(
      `wss://127.0.0.1:${port}/exec/default/web/main?command=true&stdout=1`,
      ['v5.channel.k8s.io'],
      {
        cert: h.apiserverClient.certPem,
        key: h.apiserverClient.keyPem,
        rejectUnauthorized: false,
      },
    );
    ws.on('close', () => resolve());
    ws.on('error', reject);
  });
}

async function spdyExec(h: ServerHarness, port: number): Promise<void> {
  const answer = await upgrade(port, '/exec/default/web/main?command=true&stdout=1', h.apiserverClient, {
    Connection: 'Upgrade',
    Upgrade: 'SPDY/3.1',
    'X-Stream-Protocol-Version': 'v4.channel.k8s.io',
  });
  const client = new SpdyClient(answer.socket);
  const error = await client.open({ streamType: 'error' });
  await client.open({ streamType: 'stdout' });
  await error.done;
  client.close();
}

interface Transfer {
  seconds: number;
  bytes: number;
}

/** One transfer, read by a separate process (kubelet-server-client.ts), as kubectl would read it. */
function transfer(mode: 'direct' | 'spdy' | 'ws', h: ServerHarness, port: number, podIP: string): Promise<Transfer> {
  const script = new URL('./kubelet-server-client.ts', import.meta.url).pathname;
  const arg = JSON.stringify({ mode, port, podIP, pod: 'bulk', ...h.apiserverClient });
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', script, arg], { timeout: 120_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!));
    });
  });
}

const mbps = (r: Transfer) => r.bytes / 1024 / 1024 / r.seconds;

export async function benchKubeletServer(): Promise<Row[]> {
  if (process.getuid?.() !== 0) {
    return [{ scenario: 'kubelet-server', skiff: 'skipped', baseline: 'needs root', target: '-', met: true }];
  }
  const h = await startServerHarness();
  try {
    const kubelet = await h.serving('bench', { housekeepingInterval: 3600 });
    const port = await h.portOf('bench');
    await h.admin.create(PODS, 'default', podSpec('web', 'bench', HTTP_SERVER));
    await h.admin.create(PODS, 'default', podSpec('bulk', 'bench', BULK_SERVER));
    for (let i = 0; i < STATS_PODS - 2; i++)
      await h.admin.create(PODS, 'default', podSpec(`idle-${i}`, 'bench', ['sleep', '3600']));
    await waitFor(
      'every pod running',
      async () => (await h.admin.list(PODS, 'default')).items,
      (pods) => pods.length === STATS_PODS && pods.every((p) => (p.status as { phase?: string })?.phase === 'Running'),
      120_000,
    );
    const bulk = await h.admin.get(PODS, 'default', 'bulk');
    const podIP = (bulk.status as { podIP: string }).podIP;
    const whole = MEGABYTES * 1024 * 1024;
    await waitFor(
      'the bulk server to listen',
      () => transfer('direct', h, port, podIP),
      (r) => r.bytes === whole,
    );
    const state = await kubelet.runtimeState((await h.admin.get(PODS, 'default', 'web')).metadata.uid!);
    const containerId = state.containers[0]!.id;

    const execSync = await timed(ROUND_TRIPS, () => kubelet.runtime.execSync(containerId, ['true']));
    const ws = await timed(ROUND_TRIPS, () => wsExec(h, port));
    const spdy = await timed(ROUND_TRIPS, () => spdyExec(h, port));

    const baseline = await transfer('direct', h, port, podIP);
    const viaSpdy = await transfer('spdy', h, port, podIP);
    const viaWs = await transfer('ws', h, port, podIP);

    const provider = new StatsProvider(kubelet, 3600, kubelet.logger);
    await provider.refresh();
    const sample = await timed(10, () => provider.refresh());
    const runtimeOnly = await timed(10, async () => {
      const sandboxes = await kubelet.runtime.listPodSandboxes({ state: 'ready' });
      await kubelet.runtime.listContainers();
      for (const s of sandboxes) await kubelet.runtime.podSandboxStats(s.id);
    });
    await kubeletRequest(port, '/stats/summary', h.apiserverClient);
    const summary = await timed(20, () => kubeletRequest(port, '/stats/summary', h.apiserverClient));

    const p50 = (xs: number[]) => percentile(xs, 50);
    return [
      {
        scenario: `exec round trip (true), WebSocket v5: p50 / p99`,
        skiff: `${fmt.ms(p50(ws))} / ${fmt.ms(percentile(ws, 99))}`,
        baseline: `runtime execSync ${fmt.ms(p50(execSync))}`,
        ratio: p50(execSync) / p50(ws),
        target: 'report',
        met: true,
      },
      {
        scenario: `exec round trip (true), SPDY/3.1: p50 / p99`,
        skiff: `${fmt.ms(p50(spdy))} / ${fmt.ms(percentile(spdy, 99))}`,
        baseline: `runtime execSync ${fmt.ms(p50(execSync))}`,
        ratio: p50(execSync) / p50(spdy),
        target: 'report',
        met: true,
      },
      {
        scenario: `port-forward ${MEGABYTES} MB, SPDY`,
        skiff: `${Math.round(mbps(viaSpdy))} MB/s`,
        baseline: `direct socket ${Math.round(mbps(baseline))} MB/s`,
        ratio: mbps(viaSpdy) / mbps(baseline),
        target: '≥ 0.3 (issue 22)',
        met: mbps(viaSpdy) / mbps(baseline) >= 0.3 && viaSpdy.bytes === whole,
      },
      {
        scenario: `port-forward ${MEGABYTES} MB, WebSocket channels`,
        skiff: `${Math.round(mbps(viaWs))} MB/s`,
        baseline: `direct socket ${Math.round(mbps(baseline))} MB/s`,
        ratio: mbps(viaWs) / mbps(baseline),
        target: '≥ 0.3 (issue 22)',
        met: mbps(viaWs) / mbps(baseline) >= 0.3 && viaWs.bytes === whole,
      },
      {
        scenario: `stats sample, ${STATS_PODS} pods (p50)`,
        skiff: fmt.ms(p50(sample)),
        baseline: `runtime stats calls ${fmt.ms(p50(runtimeOnly))}`,
        ratio: p50(runtimeOnly) / p50(sample),
        target: 'report',
        met: true,
      },
      {
        scenario: `GET /stats/summary, ${STATS_PODS} pods (p50)`,
        skiff: fmt.ms(p50(summary)),
        baseline: '-',
        target: 'report',
        met: true,
      },
    ];
  } finally {
    await h.close();
  }
}
