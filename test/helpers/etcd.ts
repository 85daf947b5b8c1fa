/**
 * A real etcd for tests and benchmarks: its own mkdtemp data directory, free loopback ports (found
 * by binding port 0 first), started and stopped within bounded waits; or a cluster of several such
 * members on loopback (startEtcdCluster). Tests call `requireEtcd(this)` first: without an `etcd`
 * binary on PATH they are skipped with a message saying why.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';

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
  /** Like stop(), but with SIGKILL: no clean shutdown, as in a crash. */
  kill(): Promise<void>;
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
    ...memberFlags('skiff-test', dataDir, url, peer, `skiff-test=${peer}`),
    // One member: a short election timeout only shortens start-up.
    '--heartbeat-interval=20',
    '--election-timeout=200',
    ...tlsFlags(options.tls),
    ...(options.flags ?? []),
  ];
  const member = supervise(args, options.readyTimeoutMs ?? 15_000);
  await member.start();
  return {
    url,
    dataDir,
    ...member,
    async remove() {
      await member.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function memberFlags(name: string, dataDir: string, url: string, peer: string, cluster: string): string[] {
  return [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${cluster}`,
  ];
}

/** One etcd process that can be stopped (SIGTERM), killed (SIGKILL) and started again with the same flags. */
function supervise(args: string[], readyTimeoutMs: number) {
  let child: ChildProcess | undefined;
  const end = async (signal: NodeJS.Signals) => {
    const c = child;
    child = undefined;
    if (c) await terminate(c, signal);
  };
  return {
    async start() {
      child = await spawnReady(args, readyTimeoutMs);
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}

export interface EtcdMember extends EtcdProcess {
  name: string;
  peerUrl: string;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Every member's client URL, for --etcd-servers. */
  urls: string[];
  /** The member the others follow now, from etcd's own status (asked of the members still running). */
  leader(): Promise<EtcdMember>;
  /** Stops every member and removes their directories. */
  remove(): Promise<void>;
}

/**
 * A cluster of `size` members on loopback, each in its own directory with its own client and peer
 * ports. Members are started together: each is ready only once a leader was elected among them.
 * Default raft timings (100 ms heartbeat, 1 s election) so a loaded machine does not elect spuriously.
 */
export async function startEtcdCluster(size = 3, readyTimeoutMs = 20_000): Promise<EtcdCluster> {
  if (!ETCD_BINARY) throw new Error(SKIP_REASON);
  for (let attempt = 1; ; attempt++) {
    const dirs = Array.from({ length: size }, () => mkdtempSync(join(tmpdir(), 'skiff-etcd-member-')));
    const members = await planCluster(dirs, readyTimeoutMs);
    // Wait for every start to settle, so no member comes up after a failed attempt was cleaned up.
    const failed = (await Promise.allSettled(members.map((m) => m.start()))).find((r) => r.status === 'rejected');
    if (!failed) return cluster(members);
    // A port taken between our probe and etcd's bind: start over with new ports and directories.
    await Promise.all(members.map((m) => m.remove()));
    if (attempt >= 3) throw failed.reason;
  }
}

async function planCluster(dirs: string[], readyTimeoutMs: number): Promise<EtcdMember[]> {
  const ports: [number, number][] = [];
  for (const _ of dirs) ports.push([await freePort(), await freePort()]);
  const names = dirs.map((_, i) => `skiff-member-${i}`);
  const initial = names.map((n, i) => `${n}=http://127.0.0.1:${ports[i]![1]}`).join(',');
  const token = `skiff-test-${process.pid}-${Date.now()}`;
  return dirs.map((dir, i) => {
    const url = `http://127.0.0.1:${ports[i]![0]}`;
    const peerUrl = `http://127.0.0.1:${ports[i]![1]}`;
    const dataDir = join(dir, 'data');
    const flags = memberFlags(names[i]!, dataDir, url, peerUrl, initial);
    const member = supervise(
      [...flags, '--initial-cluster-state=new', `--initial-cluster-token=${token}`],
      readyTimeoutMs,
    );
    return {
      name: names[i]!,
      url,
      peerUrl,
      dataDir,
      ...member,
      async remove() {
        await member.kill();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

function cluster(members: EtcdMember[]): EtcdCluster {
  return {
    members,
    urls: members.map((m) => m.url),
    async leader() {
      for (const m of members) {
        const status = await memberStatus(m.url).catch(() => undefined);
        if (!status || status.leader === '0') continue;
        const leader = members.find((x) => x.name === status.names.get(status.leader));
        if (leader) return leader;
      }
      throw new Error('no etcd member answered with a leader');
    },
    async remove() {
      await Promise.all(members.map((m) => m.remove()));
    },
  };
}

/** etcd's maintenance status of one member: who leads (by member id), and every member's name by id. */
async function memberStatus(url: string): Promise<{ leader: string; names: Map<string, string> }> {
  const client = new Etcd3({
    hosts: url,
    defaultCallOptions: () => ({ deadline: Date.now() + 2000 }),
  });
  try {
    const status = await client.maintenance.status({});
    const list = await client.cluster.memberList({});
    return { leader: status.leader, names: new Map(list.members.map((m) => [m.ID, m.name])) };
  } finally {
    client.close();
  }
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

/** SIGTERM (then SIGKILL if etcd has not exited within 5 s), or SIGKILL at once. */
function terminate(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}
