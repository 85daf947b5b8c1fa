/**
 * The scheduler, in upstream's scheduler_perf shapes: SchedulingBasic (5,000 nodes, 1,000 warm-up
 * pods, then 10,000 measured pods), SchedulingPodAffinity and SchedulingPodTopologySpread (1,000
 * nodes). Nodes are API objects with status (no kubelet); pods are created through the in-process
 * client 64 at a time while the scheduler runs, as scheduler_perf does. Reported: pods bound per
 * second over the measured pods (first create to last bind) and the p50/p99 of each pod's
 * create → bound time, seen through a watch.
 *
 * Baseline, in the same run and on the same kind of server: a binder with no filters or scores,
 * binding pods round-robin through the same in-process client and pods/binding path (the ceiling
 * of the plumbing: create, watch, bind).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { KubeObject } from '../../core/api/types.js';
import type { ApiClient } from '../../core/client/types.js';
import { loadConfigFromObject } from '../../core/config/load.js';
import { createServer, type SkiffServer } from '../../core/server/server.js';
import { fmt, type Row } from './report.js';
import { algorithmMicrosPerPod } from './scheduler-algorithm.js';
import { RoundRobinBinder } from './scheduler-baseline.js';
import { SHAPES, type Shape } from './scheduler-shapes.js';

const PODS = { group: '', version: 'v1', resource: 'pods' };
const NODES = { group: '', version: 'v1', resource: 'nodes' };
const NAMESPACES = { group: '', version: 'v1', resource: 'namespaces' };
const CREATE_CONCURRENCY = 64;
const SCHEDULER_USER = { name: 'system:kube-scheduler', groups: ['system:authenticated'] };

export interface RunResult {
  podsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  seconds: number;
  /** CPU time (user + system, all threads) this process spent per measured pod. */
  cpuMsPerPod: number;
}

/**
 * The profile with no PreFilter, Filter, PreScore, Score or PostFilter plugin: the scheduler's own
 * plumbing (queue, cache, informers, binding, events) without the algorithm's plugins.
 */
const PLUMBING_ONLY = {
  apiVersion: 'kubescheduler.config.k8s.io/v1',
  kind: 'KubeSchedulerConfiguration',
  profiles: [
    {
      schedulerName: 'default-scheduler',
      plugins: Object.fromEntries(
        ['preFilter', 'filter', 'postFilter', 'preScore', 'score'].map((p) => [p, { disabled: [{ name: '*' }] }]),
      ),
    },
  ],
};

type Mode = 'scheduler' | 'baseline' | 'plumbing';

async function startServer(mode: Mode, storage: string): Promise<{ server: SkiffServer; close(): Promise<void> }> {
  const withScheduler = mode !== 'baseline';
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-sched-'));
  const config = await loadConfigFromObject(
    {
      server: { dataDir, insecurePort: 0, securePort: 0, storageBackend: storage },
      plugins: {
        [`storage-${storage}`]: {},
        'api-core-v1': {},
        'api-coordination-v1': {},
        'api-watch-cache': { config: { defaultWatchCacheSize: 20000 } },
        'api-server-side-apply': {},
        'api-patch-json': {},
        'api-patch-strategic-merge': {},
        'authz-bootstrap-roles': {},
        'api-scheduling-v1': {},
        'admission-priority': {},
        ...(withScheduler
          ? { 'scheduler-default': mode === 'plumbing' ? { config: { configuration: PLUMBING_ONLY } } : {} }
          : {}),
      },
    },
    '(bench)',
  );
  const server = await createServer({ config, role: 'up', logger: pino({ level: 'warn' }) });
  await server.listen();
  return {
    server,
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Watches pods and resolves each pod's bind time; `until(n)` waits for n pods bound. */
function watchBindings(client: ApiClient) {
  const boundAt = new Map<string, number>();
  const waiters: { n: number; resolve: () => void }[] = [];
  const handle = client.watch(PODS, '', { resourceVersion: '0' }, (e) => {
    const spec = e.object.spec as { nodeName?: string } | undefined;
    if (!spec?.nodeName || boundAt.has(e.object.metadata.name ?? '')) return;
    boundAt.set(e.object.metadata.name ?? '', performance.now());
    for (const w of waiters) if (boundAt.size >= w.n) w.resolve();
  });
  return {
    boundAt,
    stop: () => handle.stop(),
    until: (n: number, ms: number) =>
      new Promise<void>((resolve, reject) => {
        if (boundAt.size >= n) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`only ${boundAt.size} of ${n} pods bound after ${ms / 1000} s`)),
          ms,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      }),
  };
}

async function createPods(client: ApiClient, pods: KubeObject[], createdAt: Map<string, number>): Promise<void> {
  await inParallel(pods, CREATE_CONCURRENCY, async (p) => {
    createdAt.set(p.metadata.name ?? '', performance.now());
    await client.create(PODS, p.metadata.namespace ?? 'default', p);
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** One run of a shape: the scheduler (or the round-robin binder) on a fresh server. */
export async function runShape(shape: Shape, mode: Mode, storage = 'memory'): Promise<RunResult> {
  const s = await startServer(mode, storage);
  const admin = s.server.client();
  const binder = mode === 'baseline' ? new RoundRobinBinder(s.server.client(SCHEDULER_USER)) : undefined;
  const watch = watchBindings(admin);
  try {
    for (const ns of shape.namespaces) await admin.create(NAMESPACES, '', { metadata: { name: ns } } as KubeObject);
    await inParallel(shape.nodes(), CREATE_CONCURRENCY, async (n) => void (await admin.create(NODES, '', n)));
    binder?.start();
    const createdAt = new Map<string, number>();
    const warm = shape.warmUpPods();
    await createPods(admin, warm, createdAt);
    await watch.until(warm.length, 300_000);
    const measured = shape.measuredPods();
    const start = performance.now();
    const cpuBefore = process.cpuUsage();
    await createPods(admin, measured, createdAt);
    await watch.until(warm.length + measured.length, 600_000);
    const cpu = process.cpuUsage(cpuBefore);
    const latencies = measured
      .map((p) => watch.boundAt.get(p.metadata.name!)! - createdAt.get(p.metadata.name!)!)
      .sort((a, b) => a - b);
    const last = Math.max(...measured.map((p) => watch.boundAt.get(p.metadata.name!)!));
    const seconds = (last - start) / 1000;
    return {
      podsPerSecond: measured.length / seconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      seconds,
      cpuMsPerPod: (cpu.user + cpu.system) / 1000 / measured.length,
    };
  } finally {
    watch.stop();
    await binder?.stop();
    await s.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Interleaved rounds (binder, scheduler, binder, ...): the host's ups and downs fall on both alike. */
async function rounds(shape: Shape, n: number): Promise<{ baseline: RunResult[]; skiff: RunResult[] }> {
  const baseline: RunResult[] = [];
  const skiff: RunResult[] = [];
  for (let i = 0; i < n; i++) {
    console.error(`  ${shape.name}: round ${i + 1}/${n}, round-robin binder ...`);
    baseline.push(await runShape(shape, 'baseline'));
    console.error(`  ${shape.name}: round ${i + 1}/${n}, scheduler ...`);
    skiff.push(await runShape(shape, 'scheduler'));
  }
  return { baseline, skiff };
}

function summary(runs: RunResult[]): RunResult {
  return {
    podsPerSecond: median(runs.map((r) => r.podsPerSecond)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    seconds: median(runs.map((r) => r.seconds)),
    cpuMsPerPod: median(runs.map((r) => r.cpuMsPerPod)),
  };
}

const describe = (r: RunResult) =>
  `${fmt.rps(r.podsPerSecond)} pods, create→bound p50 ${fmt.ms(r.p50Ms)} p99 ${fmt.ms(r.p99Ms)}, CPU ${r.cpuMsPerPod.toFixed(3)} ms/pod`;

/** Rounds per shape: `SKIFF_BENCH_SCHEDULER_ROUNDS` (default 3). */
const ROUNDS = Number(process.env.SKIFF_BENCH_SCHEDULER_ROUNDS ?? 3);

export async function benchScheduler(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const shape of SHAPES) {
    const runs = await rounds(shape, ROUNDS);
    const [base, skiff] = [summary(runs.baseline), summary(runs.skiff)];
    const ratio = median(runs.skiff.map((r, i) => r.podsPerSecond / runs.baseline[i]!.podsPerSecond));
    const algorithm = algorithmMicrosPerPod(shape);
    const basic = shape.name.startsWith('SchedulingBasic');
    rows.push({
      scenario: `scheduler ${shape.name} (median of ${ROUNDS})`,
      skiff: `${describe(skiff)} (algorithm alone ${(algorithm / 1000).toFixed(3)} ms/pod)`,
      baseline: `${describe(base)} (round-robin binder)`,
      ratio,
      target: basic ? '>= 1,000 pods/s and >= 0.5 of the binder' : '>= 0.5 of the binder',
      met: ratio >= 0.5 && (!basic || skiff.podsPerSecond >= 1000),
    });
  }
  return rows;
}
