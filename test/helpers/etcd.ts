/**
 * A real etcd for tests and benchmarks: its own mkdtemp data directory, free loopback ports (found
 * by binding port 0 first), started and stopped within bounded waits. Tests call `requireEtcd(this)`
 * first: without an `etcd` binary on PATH they are skipped with a message saying why.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BINARY = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).stdout.trim();

const SKIP_REASON = 'etcd is not on PATH (install it: apt-get install etcd-server)';

// Should a run end without its after() hooks (mocha --exit on a crash), no etcd outlives it.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
let skipNoted = false;

/** Skips the calling test or hook, saying why once per run, when there is no etcd binary. */
export function requireEtcd(ctx: Mocha.Context): void {
  if (ETCD_BINARY) return;
  if (!skipNoted) console.log(`      skipping the etcd tests: ${SKIP_REASON}`);
  skipNoted = true;
  ctx.skip();
}

export interface EtcdTls {
  certFile: string;
  keyFile: string;
  /** With it, etcd requires client certificates signed by this CA (--client-cert-auth). */
  trustedCaFile?: string;
}

export interface EtcdOptions {
  tls?: EtcdTls;
  /** Extra etcd flags, e.g. --max-request-bytes=... */
  flags?: string[];
  /** How long to wait for "ready to serve client requests" (default 15 s). */
  readyTimeoutMs?: number;
}

export interface EtcdProcess {
  /** The client URL, http:// or https://. */
  url: string;
  dataDir: string;
  /** Stops etcd, keeping its data and ports, so that start() can bring the same member back. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops etcd and removes its directory. */
  remove(): Promise<void>;
}

/** A port that was free a moment ago on 127.0.0.1 (the OS picked it for a listener we closed). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdProcess> {
  if (!ETCD_BINARY) throw new Error(SKIP_REASON);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-etcd-'));
  // A port can be taken between our probe and etcd's bind: try again with new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(dir, options, await freePort(), await freePort());
    } catch (err) {
      rmSync(join(dir, 'data'), { recursive: true, force: true });
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

async function launch(dir: string, options: EtcdOptions, clientPort: number, peerPort: number): Promise<EtcdProcess> {
  const scheme = options.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const dataDir = join(dir, 'data');
  const args = [
    `--name=skiff-test`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=skiff-test=${peer}`,
    // One member: a short election timeout only shortens start-up.
    '--heartbeat-interval=20',
    '--election-timeout=200',
    ...tlsFlags(options.tls),
    ...(options.flags ?? []),
  ];
  let child: ChildProcess | undefined;
  const start = async () => {
    child = await spawnReady(args, options.readyTimeoutMs ?? 15_000);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (c) await terminate(c);
  };
  await start();
  return {
    url,
    dataDir,
    start,
    stop,
    async remove() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function tlsFlags(tls: EtcdTls | undefined): string[] {
  if (!tls) return [];
  const flags = [`--cert-file=${tls.certFile}`, `--key-file=${tls.keyFile}`];
  if (tls.trustedCaFile) flags.push('--client-cert-auth', `--trusted-ca-file=${tls.trustedCaFile}`);
  return flags;
}

/** Spawns etcd and resolves once it logs that it serves clients; fails with its log tail otherwise. */
function spawnReady(args: string[], timeoutMs: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(ETCD_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    let log = '';
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`etcd ${why}; last log lines:\n${log.split('\n').slice(-15).join('\n')}`));
    };
    const timer = setTimeout(() => fail(`was not ready after ${timeoutMs} ms`), timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      // Keep a bounded tail for the error message; etcd logs a few lines a second at most.
      log = (log + chunk.toString()).slice(-20_000);
      if (!settled && log.includes('ready to serve client requests')) {
        settled = true;
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('error', (err) => fail(`could not be started: ${err.message}`));
    child.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
  });
}

/** SIGTERM, then SIGKILL if etcd has not exited within 5 s. */
function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
