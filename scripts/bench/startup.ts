/** Start-up time to /readyz and idle RSS of `skiff up`, against a bare koa process started the same way. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, type Row } from './report.js';

const ROOT = new URL('../../', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
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
    child.kill('SIGKILL');
  }
}

/** Start-up times vary by a second between runs on a busy VM: each figure is the median of this many. */
const RUNS = 5;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** `runs` measurements, each from a fresh data dir: the median ready time and RSS, and the range of ready times. */
async function measureRuns(
  runs: number,
  once: (dataDir: string) => Promise<{ readyMs: number; rssMb: number }>,
): Promise<{ readyMs: number; rssMb: number; spread: string }> {
  const results: { readyMs: number; rssMb: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-up-'));
    try {
      results.push(await once(dataDir));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const ready = results.map((r) => r.readyMs);
  return {
    readyMs: median(ready),
    rssMb: median(results.map((r) => r.rssMb)),
    spread: `${fmt.ms(Math.min(...ready))}-${fmt.ms(Math.max(...ready))}`,
  };
}

export async function benchStartup(): Promise<Row[]> {
  const skiff = await measureRuns(RUNS, async (dataDir) => {
    const port = await freePort();
    return measure(
      [
        'scripts/skiff.mjs',
        'up',
        '--config',
        'config/default.yaml',
        '--data-dir',
        dataDir,
        '--insecure-port',
        String(port),
        // HTTPS on, as `npm start` serves it: a first start makes the serving and admin certificates too.
        '--secure-port',
        'auto',
        '--log-level',
        'warn',
      ],
      '/readyz',
      port,
    );
  });
  const koa = await measureRuns(RUNS, async () => {
    const port = await freePort();
    return measure(['--import', 'tsx', 'scripts/bench/bare-koa.ts', String(port)], '/', port);
  });
  return [
    {
      scenario: `start-up to /readyz (skiff up, HTTPS on, fresh data dir; median of ${RUNS}, range ${skiff.spread})`,
      skiff: fmt.ms(skiff.readyMs),
      baseline: `${fmt.ms(koa.readyMs)} (bare koa process via tsx)`,
      ratio: koa.readyMs / skiff.readyMs,
      target: '<= 2000 ms',
      met: skiff.readyMs <= 2000,
    },
    {
      scenario: 'idle RSS after start-up',
      skiff: fmt.mb(skiff.rssMb),
      baseline: `${fmt.mb(koa.rssMb)} (bare koa process)`,
      ratio: koa.rssMb / skiff.rssMb,
      target: '<= 150 MB',
      met: skiff.rssMb <= 150,
    },
  ];
}
