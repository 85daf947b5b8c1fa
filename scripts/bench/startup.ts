/**
 * Start-up time to /readyz and idle RSS of `skiff up` (a first start on a fresh data dir, and a
 * restart on one a previous start left), against a bare koa process started the same way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, type Row } from './report.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Start-up times vary by a second between runs on a busy VM: each figure is the median of this many. */
const RUNS = 5;

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** SIGTERM, as a person stops it (pods, links and the service range are undone); SIGKILL after 15 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function measure(args: string[], readyPath: string, port: number): Promise<{ readyMs: number; rssMb: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
  try {
    let readyMs = Number.NaN;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const ok = await fetch(`http://127.0.0.1:${port}${readyPath}`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) {
        readyMs = performance.now() - started;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return { readyMs, rssMb: rssKb / 1024 };
  } finally {
    await stop(child);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface Measured {
  readyMs: number;
  rssMb: number;
  /** The range of the ready times. */
  spread: string;
}

function summary(results: { readyMs: number; rssMb: number }[]): Measured {
  const ready = results.map((r) => r.readyMs);
  return {
    readyMs: median(ready),
    rssMb: median(results.map((r) => r.rssMb)),
    spread: `${fmt.ms(Math.min(...ready))}-${fmt.ms(Math.max(...ready))}`,
  };
}

/** `skiff up` as `npm start` runs it, on `dataDir`. */
async function skiffUp(dataDir: string) {
  const port = await freePort();
  const args = ['scripts/skiff.mjs', 'up', '--config', 'config/default.yaml', '--data-dir', dataDir];
  // HTTPS on, as `npm start` serves it: a first start makes the serving and admin certificates too.
  args.push('--insecure-port', String(port), '--secure-port', 'auto', '--log-level', 'warn');
  return measure(args, '/readyz', port);
}

/** RUNS first starts, each on a fresh data dir; then RUNS restarts on one dir a first start made. */
async function measureSkiff(): Promise<{ fresh: Measured; restart: Measured }> {
  const fresh = [];
  for (let i = 0; i < RUNS; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-up-'));
    try {
      fresh.push(await skiffUp(dataDir));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const restart = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-up-'));
  try {
    await skiffUp(dataDir);
    for (let i = 0; i < RUNS; i++) restart.push(await skiffUp(dataDir));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  return { fresh: summary(fresh), restart: summary(restart) };
}

export async function benchStartup(): Promise<Row[]> {
  const skiff = await measureSkiff();
  const koaRuns = [];
  for (let i = 0; i < RUNS; i++) {
    const port = await freePort();
    koaRuns.push(await measure(['--import', 'tsx', 'scripts/bench/bare-koa.ts', String(port)], '/', port));
  }
  const koa = summary(koaRuns);
  const koaReady = `${fmt.ms(koa.readyMs)} (bare koa process via tsx)`;
  return [
    {
      scenario: `start-up to /readyz (skiff up, HTTPS on, fresh data dir; median of ${RUNS}, range ${skiff.fresh.spread})`,
      skiff: fmt.ms(skiff.fresh.readyMs),
      baseline: koaReady,
      ratio: koa.readyMs / skiff.fresh.readyMs,
      target: '<= 2000 ms',
      met: skiff.fresh.readyMs <= 2000,
    },
    {
      scenario: `restart to /readyz (the same, on the data dir a first start left; range ${skiff.restart.spread})`,
      skiff: fmt.ms(skiff.restart.readyMs),
      baseline: koaReady,
      ratio: koa.readyMs / skiff.restart.readyMs,
      target: '<= 2000 ms',
      met: skiff.restart.readyMs <= 2000,
    },
    {
      scenario: 'idle RSS after start-up (fresh data dir)',
      skiff: fmt.mb(skiff.fresh.rssMb),
      baseline: `${fmt.mb(koa.rssMb)} (bare koa process)`,
      ratio: koa.rssMb / skiff.fresh.rssMb,
      target: '<= 150 MB',
      met: skiff.fresh.rssMb <= 150,
    },
  ];
}
