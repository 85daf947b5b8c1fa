/**
 * runtime-process: time to run a sandbox, create and start a `sleep` container in it (100 pods, one
 * after another), beside the bare cost of spawning the same process from Node in the same run; the
 * runtime's RSS and the per-pod host memory (shim); teardown time. Needs root (skipped otherwise).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openProcessRuntime, sweepProcessRuntime } from '../../plugins/runtime-process/index.js';
import { fmt, type Row } from './report.js';

const PODS = 100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** A /16 in 10.200–249 that nothing routes yet (never the default 10.244.0.0/16 of `npm start`). */
function freeCluster(): number {
  for (;;) {
    const second = 200 + Math.floor(Math.random() * 50);
    if (second === 244) continue;
    if (
      !execFileSync('ip', ['route', 'show', 'match', `10.${second}.0.1`], { encoding: 'utf8' }).includes(
        `10.${second}.`,
      )
    )
      return second;
  }
}

async function bareSpawns(): Promise<number[]> {
  const times: number[] = [];
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < PODS; i++) {
      const started = performance.now();
      const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
      children.push(child);
      await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
      times.push(performance.now() - started);
    }
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
  return times.sort((a, b) => a - b);
}

export async function benchRuntime(): Promise<Row[]> {
  if (process.getuid?.() !== 0) {
    return [{ scenario: 'runtime (process)', skiff: 'skipped: needs root', baseline: '-', target: '-', met: true }];
  }
  const second = freeCluster();
  const config = { prefix: 'bnch', clusterCIDR: `10.${second}.0.0/16`, loopbackCIDR: `127.${second}.0.0/16` };
  const rootDir = mkdtempSync(join(tmpdir(), 'skiff-bench-runtime-'));
  await sweepProcessRuntime(config);
  const rssBefore = process.memoryUsage().rss;
  const runtime = await openProcessRuntime(config, { nodeName: 'bench', rootDir, podCIDR: `10.${second}.1.0/24` });
  const times: number[] = [];
  let teardownMs = 0;
  let shimKb = 0;
  const wallStart = performance.now();
  try {
    for (let i = 0; i < PODS; i++) {
      const started = performance.now();
      const sandbox = await runtime.runPodSandbox({ metadata: { name: `p${i}`, namespace: 'bench', uid: `u${i}` } });
      const id = await runtime.createContainer(sandbox, { name: 'sleep', image: 'debian', command: ['sleep', '300'] });
      await runtime.startContainer(id);
      times.push(performance.now() - started);
    }
    for (const record of runtime.ctx.containers.values()) shimKb += rssKb(record.shimPid ?? 0);
  } finally {
    const down = performance.now();
    await runtime.close({ stopAll: true });
    teardownMs = performance.now() - down;
    await sweepProcessRuntime(config, [rootDir]);
    rmSync(rootDir, { recursive: true, force: true });
  }
  const wallMs = performance.now() - wallStart - teardownMs;
  const rssMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
  times.sort((a, b) => a - b);
  const bare = await bareSpawns();
  const [p50, p99, b50, b99] = [
    percentile(times, 50),
    percentile(times, 99),
    percentile(bare, 50),
    percentile(bare, 99),
  ];
  return [
    {
      scenario: `runtime: sandbox+create+start p50 (${PODS} pods)`,
      skiff: fmt.ms(p50),
      baseline: `spawn ${fmt.ms(b50)}`,
      ratio: b50 / p50,
      target: '-',
      met: true,
    },
    {
      scenario: 'runtime: sandbox+create+start p99',
      skiff: fmt.ms(p99),
      baseline: `spawn ${fmt.ms(b99)}`,
      ratio: b99 / p99,
      target: '≤ 1000 ms',
      met: p99 <= 1000,
    },
    {
      scenario: 'runtime: pods started per second',
      skiff: `${(PODS / (wallMs / 1000)).toFixed(1)}/s`,
      baseline: '-',
      target: '-',
      met: true,
    },
    {
      scenario: 'runtime: shim RSS per pod',
      skiff: `${Math.round(shimKb / PODS)} KB`,
      baseline: '-',
      target: '-',
      met: true,
    },
    { scenario: 'runtime: runtime process RSS growth', skiff: fmt.mb(rssMb), baseline: '-', target: '-', met: true },
    {
      scenario: `runtime: teardown of ${PODS} pods (close stopAll)`,
      skiff: fmt.ms(teardownMs),
      baseline: '-',
      target: '-',
      met: true,
    },
  ];
}
