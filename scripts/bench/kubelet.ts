/**
 * The kubelet (`npm run bench -- kubelet`), issue 19's figures:
 * (a) runtime-process: pod start latency, create → Running, for 100 pods (a `sleep` each) on one
 *     node, created at once and one after another, p50/p99, beside the bare cost of spawning the
 *     same 100 processes from Node the same way in the same run (needs root; skipped otherwise);
 * (b) runtime-simulated: `skiff kubelet --runtime simulated --nodes 1000` in a process of its own
 *     against an HTTPS API server: time from its spawn to 1,000 Nodes Ready, its idle RSS per node
 *     (RSS of 1,000 nodes minus RSS of 1 node, the same command, divided by 999), and 10,000 pods
 *     with nodeName set, created at once, until all are Running, with the CPU time both sides used.
 * SKIFF_BENCH_KUBELET=process|simulated runs one half; SKIFF_BENCH_LOG=info shows the simulated
 * kubelet's log (its counts of syncs, status writes and echoes skipped, when it stops).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from 'skiff/sdk';
import { type ApiClient, CORE_V1, delay } from 'skiff/sdk/client';
import { startTestServer, type TestServer } from '../../test/helpers/server.js';
import { PODS, podSpec, startHarness } from '../../test/plugins/node-kubelet/helpers.js';
import { fmt, type Row } from './report.js';

const PROCESS_PODS = 100;
const SIM_NODES = 1000;
const SIM_PODS = 10_000;
const CLI = new URL('../skiff.mjs', import.meta.url).pathname;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** Calls `seen(name, obj)` for every event of `resource` until stopped. */
function watchAll(client: ApiClient, resource: string, seen: (obj: KubeObject) => void) {
  return client.watch(CORE_V1(resource), '', {}, (e) => {
    if (e.type === 'ADDED' || e.type === 'MODIFIED') seen(e.object);
  });
}

const isRunning = (obj: KubeObject) => (obj.status as { phase?: string } | undefined)?.phase === 'Running';
const isReady = (obj: KubeObject) =>
  ((obj.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

/** Resolves when `done()` holds, checking every 20 ms; rejects after `ms`. */
async function until(what: string, done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** Spawning the same `sleep`s from Node: all at once (ms from the first to each one's spawn), or one after another. */
async function bareSpawns(atOnce: boolean): Promise<number[]> {
  const children: ChildProcess[] = [];
  const spawnOne = async (since: number) => {
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    children.push(child);
    await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    return performance.now() - since;
  };
  try {
    const start = performance.now();
    const times: number[] = [];
    if (atOnce) times.push(...(await Promise.all(Array.from({ length: PROCESS_PODS }, () => spawnOne(start)))));
    else for (let i = 0; i < PROCESS_PODS; i++) times.push(await spawnOne(performance.now()));
    return times.sort((a, b) => a - b);
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
}

type Harness = Awaited<ReturnType<typeof startHarness>>;

/** Pods on node `node` of the harness, all created at once or one after another (each once the previous runs); create → Running as a watcher sees it. */
async function podStarts(h: Harness, node: string, atOnce: boolean): Promise<number[]> {
  // Upstream's periods (the harness shortens them for tests).
  await h.kubelet(node, { relistPeriod: 1, syncFrequency: 10, nodeStatusUpdateFrequency: 10 });
  const created = new Map<string, number>();
  const latency = new Map<string, number>();
  const watch = watchAll(h.admin, 'pods', (obj) => {
    const name = obj.metadata.name ?? '';
    const at = created.get(name);
    if (at !== undefined && isRunning(obj) && !latency.has(name)) latency.set(name, performance.now() - at);
  });
  const create = (i: number) => {
    created.set(`${node}-${i}`, performance.now());
    return h.admin.create(PODS, 'default', podSpec(`${node}-${i}`, node, ['sleep', '300']));
  };
  try {
    if (atOnce) await Promise.all(Array.from({ length: PROCESS_PODS }, (_, i) => create(i)));
    for (let i = 0; i < PROCESS_PODS && !atOnce; i++) {
      await create(i);
      await until(`${node}-${i} Running`, () => latency.has(`${node}-${i}`), 60_000);
    }
    await until(`${PROCESS_PODS} pods Running`, () => latency.size === PROCESS_PODS, 180_000);
  } finally {
    watch.stop();
  }
  return [...latency.values()].sort((a, b) => a - b);
}

function latencyRows(label: string, times: number[], bare: number[]): Row[] {
  const row = (p: number): Row => ({
    scenario: `kubelet: pod start, create → Running, ${PROCESS_PODS} pods ${label} (process), p${p}`,
    skiff: fmt.ms(percentile(times, p)),
    baseline: `${fmt.ms(percentile(bare, p))} (bare spawn)`,
    ratio: percentile(bare, p) / percentile(times, p),
    target: p === 99 ? '≤ 1 s' : '-',
    met: p !== 99 || percentile(times, p) <= 1000,
  });
  return [row(50), row(99)];
}

/** (a) 100 pods on one runtime-process node, at once and one after another, beside bare spawns of the same processes. */
async function processStartLatency(): Promise<Row[]> {
  if (process.getuid?.() !== 0) {
    return [
      { scenario: 'kubelet: pod start (process)', skiff: 'skipped: needs root', baseline: '-', target: '-', met: true },
    ];
  }
  const [bareBurst, bareSequential] = [await bareSpawns(true), await bareSpawns(false)];
  const h = await startHarness();
  try {
    const burst = await podStarts(h, 'burst', true);
    const sequential = await podStarts(h, 'one', false);
    return [...latencyRows('at once', burst, bareBurst), ...latencyRows('one at a time', sequential, bareSequential)];
  } finally {
    await h.close();
  }
}

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** `skiff kubelet --runtime simulated --nodes N` as its own process, against the server's HTTPS port. */
function simulatedKubelet(server: TestServer, nodes: number, prefix: string, dataDir: string): ChildProcess {
  const args = [CLI, 'kubelet', '--kubeconfig', server.kubeconfig!, '--runtime', 'simulated'];
  const logLevel = process.env.SKIFF_BENCH_LOG ?? 'warn';
  args.push('--nodes', String(nodes), '--name-prefix', prefix, '--data-dir', dataDir, '--log-level', logLevel);
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', process.env.SKIFF_BENCH_LOG ? 'inherit' : 'ignore', 'inherit'],
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, delay(10_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** RSS once it has settled: the lowest of a few samples a second apart (after start-up garbage is collected). */
async function idleRssKb(pid: number): Promise<number> {
  await delay(3000);
  let lowest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    lowest = Math.min(lowest, rssKb(pid));
    await delay(1000);
  }
  return lowest;
}

interface SimFigures {
  readyMs: number;
  rssKb: number;
  /** CPU time per wall time while idle (Lease renewals, the relist): 1 = one core. */
  idleCpuShare: number;
  pods?: { createdMs: number; runningMs: number };
  /** CPU time the kubelet process and this one (the API server, and the pods' creates) used meanwhile. */
  cpu?: { kubeletMs: number; serverMs: number };
}

/** CPU time (user + system) of a process, from /proc/<pid>/stat, in ms. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** One simulated-kubelet process of `nodes` nodes: time to all Ready, idle RSS, then (optionally) 10,000 pods. */
async function simulatedRun(server: TestServer, nodes: number, prefix: string, pods: number): Promise<SimFigures> {
  const admin = server.server.client();
  const ready = new Set<string>();
  const nodeWatch = watchAll(admin, 'nodes', (obj) => {
    if (obj.metadata.name?.startsWith(prefix) && isReady(obj)) ready.add(obj.metadata.name);
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-sim-'));
  const start = performance.now();
  const child = simulatedKubelet(server, nodes, prefix, dataDir);
  try {
    await until(`${nodes} nodes Ready`, () => ready.size === nodes || child.exitCode !== null, 120_000);
    if (child.exitCode !== null) throw new Error(`skiff kubelet exited (${child.exitCode})`);
    const readyMs = performance.now() - start;
    const [idleFrom, idleCpu] = [performance.now(), cpuMs(child.pid!)];
    const rss = await idleRssKb(child.pid!);
    const idleCpuShare = (cpuMs(child.pid!) - idleCpu) / (performance.now() - idleFrom);
    const figures: SimFigures = { readyMs, rssKb: rss, idleCpuShare };
    if (pods) {
      const [kubeletBefore, serverBefore] = [cpuMs(child.pid!), process.cpuUsage()];
      figures.pods = await simulatedPods(admin, prefix, nodes, pods);
      const server = process.cpuUsage(serverBefore);
      figures.cpu = { kubeletMs: cpuMs(child.pid!) - kubeletBefore, serverMs: (server.user + server.system) / 1000 };
    }
    return figures;
  } finally {
    nodeWatch.stop();
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `pods` pods spread over the nodes, created at once (16 in flight): ms from the first create to the last create's answer, and to all Running. */
async function simulatedPods(
  admin: ApiClient,
  prefix: string,
  nodes: number,
  pods: number,
): Promise<{ createdMs: number; runningMs: number }> {
  const running = new Set<string>();
  const watch = watchAll(admin, 'pods', (obj) => {
    if (isRunning(obj)) running.add(obj.metadata.name ?? '');
  });
  const start = performance.now();
  let next = 0;
  const creator = async () => {
    while (next < pods) {
      const i = next++;
      await admin.create(PODS, 'default', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `sim-pod-${i}`, namespace: 'default' },
        spec: { nodeName: `${prefix}${i % nodes}`, containers: [{ name: 'main', image: 'busybox' }] },
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, creator));
  const createdMs = performance.now() - start;
  await until(`${pods} pods Running`, () => running.size === pods, 180_000);
  watch.stop();
  return { createdMs, runningMs: performance.now() - start };
}

/** (b) the simulated runtime at scale. */
async function simulatedScale(): Promise<Row[]> {
  const server = await startTestServer({
    secure: true,
    watchCacheSize: 50_000,
    plugins: { 'authn-x509': {}, 'node-kubelet': { config: { nodes: 0 } } },
  });
  try {
    const one = await simulatedRun(server, 1, 'base-', 0);
    const many = await simulatedRun(server, SIM_NODES, 'sim-', SIM_PODS);
    const perNodeKb = (many.rssKb - one.rssKb) / (SIM_NODES - 1);
    return [
      {
        scenario: `kubelet (simulated): ${SIM_NODES} nodes registered and Ready, from spawn`,
        skiff: fmt.ms(many.readyMs),
        baseline: `${fmt.ms(one.readyMs)} (1 node)`,
        ratio: one.readyMs / many.readyMs,
        target: '≤ 10 s',
        met: many.readyMs <= 10_000,
      },
      {
        scenario: 'kubelet (simulated): idle RSS per node ((RSS 1,000 − RSS 1) ÷ 999)',
        skiff: `${perNodeKb.toFixed(1)} KB`,
        baseline: `${Math.round(one.rssKb / 1024)} MB (process, 1 node)`,
        target: '≤ 100 KB',
        met: perNodeKb <= 100,
      },
      {
        scenario: `kubelet (simulated): idle CPU of ${SIM_NODES} nodes (${SIM_NODES / 10} Lease renewals/s)`,
        skiff: `${(many.idleCpuShare * 100).toFixed(1)}% of a core`,
        baseline: `${(one.idleCpuShare * 100).toFixed(1)}% (1 node)`,
        target: '-',
        met: true,
      },
      {
        scenario: `kubelet (simulated): ${SIM_PODS.toLocaleString('en-US')} pods with nodeName all Running`,
        skiff: fmt.ms(many.pods?.runningMs ?? 0),
        baseline: `${fmt.ms(many.pods?.createdMs ?? 0)} (the creates alone)`,
        ratio: (many.pods?.createdMs ?? 0) / (many.pods?.runningMs ?? 1),
        target: '≤ 20 s',
        met: (many.pods?.runningMs ?? Number.POSITIVE_INFINITY) <= 20_000,
      },
      {
        scenario: `kubelet (simulated): CPU time for those ${SIM_PODS.toLocaleString('en-US')} pods, kubelet process`,
        skiff: fmt.ms(many.cpu?.kubeletMs ?? 0),
        baseline: `${fmt.ms(many.cpu?.serverMs ?? 0)} (API server + creates)`,
        target: '-',
        met: true,
      },
    ];
  } finally {
    await server.close();
  }
}

/** SKIFF_BENCH_KUBELET=process|simulated runs one half only. */
export async function benchKubelet(): Promise<Row[]> {
  const only = process.env.SKIFF_BENCH_KUBELET;
  return [
    ...(only === 'simulated' ? [] : await processStartLatency()),
    ...(only === 'process' ? [] : await simulatedScale()),
  ];
}
