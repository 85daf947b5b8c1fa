/**
 * storage-etcd: CREATE and GET pods over HTTP on a real etcd (started here on 127.0.0.1, own data
 * dir), beside the same on storage-sqlite, and beside etcd's own baseline on the same etcd:
 * `etcdctl check perf --load=s` (50 clients) and `--load=m` (200 clients). check perf paces its
 * writes to the load's target rate (s: 150/s, m: 1,000/s) and says whether etcd kept up, so its
 * throughput is a floor etcd must sustain, not its ceiling: the rows also show raw etcd3-client
 * creates (the same guarded transaction, no Skiff) with 50 in flight.
 */
import { spawn } from 'node:child_process';
import { CompareResult, CompareTarget, Etcd3 } from 'etcd3';
import { ETCD_BINARY, type EtcdProcess, startEtcd } from '../../test/helpers/etcd.js';
import { type BenchServer, createPods, pod, startBenchServer } from './fixtures.js';
import { type LoadResult, load } from './load.js';
import { fmt, type Row } from './report.js';

const CONNECTIONS = 50;
const PODS = 1000;

function startEtcdServer(etcd: EtcdProcess, maxWritesInFlight: number): Promise<BenchServer> {
  const prefix = `/bench-${maxWritesInFlight}-${Date.now()}`;
  return startBenchServer({}, 'apiserver', {
    backend: 'etcd',
    config: { servers: [etcd.url], prefix, maxWritesInFlight },
  });
}

/** CREATE for `seconds`, then GET one pod among PODS for `seconds`, on one server. */
async function measure(s: BenchServer, seconds: number): Promise<{ create: LoadResult; get: LoadResult }> {
  const client = s.server.client();
  await client.create({ group: '', version: 'v1', resource: 'namespaces' }, '', { metadata: { name: 'create' } });
  const body = pod('', 'create');
  body.metadata = { generateName: 'p-', labels: body.metadata.labels };
  const create = await load({
    url: `${s.url}/api/v1/namespaces/create/pods`,
    connections: CONNECTIONS,
    seconds,
    method: 'POST',
    body: JSON.stringify(body),
  });
  await createPods(s, 'read', PODS);
  const url = `${s.url}/api/v1/namespaces/read/pods/pod-${PODS / 2}`;
  await load({ url, connections: CONNECTIONS, seconds: 2 }); // warm-up
  const get = await load({ url, connections: CONNECTIONS, seconds });
  return { create, get };
}

async function onServer<T>(start: () => Promise<BenchServer>, run: (s: BenchServer) => Promise<T>): Promise<T> {
  const s = await start();
  try {
    return await run(s);
  } finally {
    await s.close();
  }
}

/** Guarded creates straight through the etcd3 client, `inFlight` at a time: etcd's rate as Node sees it. */
async function rawCreates(etcd: EtcdProcess, seconds: number, inFlight: number, value: string): Promise<number> {
  const client = new Etcd3({ hosts: etcd.url });
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const key = Buffer.from(`/bench-raw/${n++}`);
      await client.kv.txn({
        compare: [{ key, target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 }],
        success: [{ request_put: { key, value: Buffer.from(value) } }],
      });
    }
  };
  try {
    await Promise.all(Array.from({ length: inFlight }, worker));
    return n / seconds;
  } finally {
    client.close();
  }
}

interface CheckPerf {
  writesPerSecond: number;
  slowestSeconds: number;
  passed: boolean;
}

/** `etcdctl check perf` (60 s, paced to the load's target rate), parsed. */
function checkPerf(etcd: EtcdProcess, load: 's' | 'm'): Promise<CheckPerf> {
  return new Promise((resolve, reject) => {
    const args = [`--endpoints=${etcd.url}`, 'check', 'perf', `--load=${load}`, '--auto-compact', '--auto-defrag'];
    const child = spawn('etcdctl', args, { env: { ...process.env, ETCDCTL_API: '3' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('exit', () => {
      const throughput = /(PASS|FAIL): Throughput is (\d+) writes\/s/.exec(out);
      if (!throughput) return reject(new Error(`etcdctl check perf --load=${load} printed no throughput:\n${out}`));
      resolve({
        writesPerSecond: Number(throughput[2]),
        slowestSeconds: Number(/Slowest request took ([\d.]+)s/.exec(out)?.[1] ?? Number.NaN),
        passed: /^PASS$/m.test(out),
      });
    });
  });
}

const result = (r: LoadResult) =>
  `${fmt.rps(r.requestsPerSecond)}, p99 ${fmt.ms(r.p99Ms)}${r.non2xx + r.errors ? `, ${r.non2xx + r.errors} failed` : ''}`;

export async function benchEtcd(seconds: number): Promise<Row[]> {
  if (!ETCD_BINARY) {
    console.error('skipping the etcd benchmark: etcd is not on PATH (apt-get install etcd-server)');
    return [];
  }
  const runSeconds = Math.min(seconds, 10);
  const etcd = await startEtcd();
  try {
    const ordered = await onServer(
      () => startEtcdServer(etcd, 1),
      (s) => measure(s, runSeconds),
    );
    const batched = await onServer(
      () => startEtcdServer(etcd, CONNECTIONS),
      (s) => measure(s, runSeconds),
    );
    const sqlite = await onServer(
      () => startBenchServer(),
      (s) => measure(s, runSeconds),
    );
    const raw = await rawCreates(etcd, Math.min(5, runSeconds), CONNECTIONS, JSON.stringify(pod('raw', 'raw')));
    const perfS = await checkPerf(etcd, 's');
    const perfM = await checkPerf(etcd, 'm');
    const perf = (p: CheckPerf, clients: number) =>
      `${fmt.rps(p.writesPerSecond)} (etcdctl check perf, ${clients} clients, slowest ${p.slowestSeconds}s, ${p.passed ? 'PASS' : 'FAIL'})`;
    const ratio = ordered.create.requestsPerSecond / perfS.writesPerSecond;
    return [
      {
        scenario: `CREATE pods on etcd (1 write in flight), ${CONNECTIONS} conns`,
        skiff: result(ordered.create),
        baseline: perf(perfS, 50),
        ratio,
        target: 'ratio >= 0.5',
        met: ratio >= 0.5 && ordered.create.non2xx + ordered.create.errors === 0,
      },
      {
        scenario: `CREATE pods on etcd (maxWritesInFlight ${CONNECTIONS})`,
        skiff: result(batched.create),
        baseline: `${fmt.rps(raw)} (raw etcd3 guarded creates, ${CONNECTIONS} in flight)`,
        ratio: batched.create.requestsPerSecond / raw,
        target: 'report',
        met: true,
      },
      {
        scenario: 'CREATE pods: etcd (1 in flight) vs SQLite',
        skiff: result(ordered.create),
        baseline: `${result(sqlite.create)} (storage-sqlite)`,
        ratio: ordered.create.requestsPerSecond / sqlite.create.requestsPerSecond,
        target: 'report',
        met: true,
      },
      {
        scenario: `GET 1 pod of ${PODS.toLocaleString('en-US')}: etcd vs SQLite, ${CONNECTIONS} conns`,
        skiff: result(ordered.get),
        baseline: `${result(sqlite.get)} (storage-sqlite)`,
        ratio: ordered.get.requestsPerSecond / sqlite.get.requestsPerSecond,
        target: 'report',
        met: true,
      },
      {
        scenario: 'etcd alone at 200 clients',
        skiff: '-',
        baseline: perf(perfM, 200),
        target: 'report',
        met: true,
      },
    ];
  } finally {
    await etcd.remove();
  }
}
