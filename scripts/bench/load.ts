/**
 * The load generator, always in a process of its own so it does not share the server's event
 * loop: wrk when the machine has it (a C client, one thread: it leaves the other core to the
 * server), otherwise autocannon. The table says which one measured.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const AUTOCANNON = require.resolve('autocannon/autocannon.js');
const WRK = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim() || undefined;

export const generator = WRK ? 'wrk' : 'autocannon';

export interface LoadResult {
  requestsPerSecond: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  method?: string;
  body?: string;
  /** Extra request headers (Accept for the Table and protobuf rows). */
  headers?: Record<string, string>;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out}`))));
  });
}

function toMs(value: string, unit: string): number {
  return Number(value) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? 1);
}

async function wrk(o: LoadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-wrk-'));
  try {
    const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency'];
    if (o.method || o.body || o.headers) {
      const script = join(dir, 'request.lua');
      const lua = [`wrk.method = ${JSON.stringify(o.method ?? 'GET')}`];
      if (o.body) lua.push(`wrk.body = ${JSON.stringify(o.body)}`, 'wrk.headers["Content-Type"] = "application/json"');
      for (const [k, v] of Object.entries(o.headers ?? {}))
        lua.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
      writeFileSync(script, `${lua.join('\n')}\n`);
      args.push('-s', script);
    }
    const out = await run(WRK!, [...args, o.url]);
    const p99 = /^\s*99%\s+([\d.]+)(us|ms|s)/m.exec(out);
    const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    return {
      requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
      p99Ms: p99 ? toMs(p99[1]!, p99[2]!) : Number.NaN,
      errors: socketErrors ? socketErrors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
      non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function autocannon(o: LoadOptions): Promise<LoadResult> {
  const args = [AUTOCANNON, '-j', '-c', String(o.connections), '-d', String(o.seconds)];
  if (o.method) args.push('-m', o.method);
  if (o.body) args.push('-H', 'content-type=application/json', '-b', o.body);
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}=${v}`);
  const r = JSON.parse(await run(process.execPath, [...args, o.url])) as {
    requests: { average: number };
    latency: { p99: number };
    errors: number;
    non2xx: number;
  };
  return { requestsPerSecond: r.requests.average, p99Ms: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

export function load(options: LoadOptions): Promise<LoadResult> {
  return WRK ? wrk(options) : autocannon(options);
}
