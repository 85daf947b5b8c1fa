/**
 * The Proxy API (`npm run bench -- proxy`, needs root and kubectl): `skiff up --nodes 0` and one
 * `skiff kubelet` in a process of its own, as a node runs its kubelet, with one pod; then, each
 * beside its same-run baseline: HTTP through the pod proxy vs straight to the pod IP (wrk, req/s
 * and p99; goal ≥ 0.5); 100 MB through one `kubectl port-forward` vs a direct socket to the pod
 * (the median of 3 transfers each; goal ≥ 0.3); and the `kubectl exec -- true` round trip
 * (p50/p99) beside `kubectl get pod` (the same kubectl start-up and TLS, no stream). The two
 * ceiling rows carry the same traffic through bare Node.js relays of the same shape
 * (proxy-ceiling.ts): what any Node.js proxy reaches on this machine.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse as parseYaml, stringify } from 'yaml';
import { sweepProcessRuntime } from '../../plugins/runtime-process/index.js';
import { kubectlPath } from '../../test/helpers/kubectl.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../../test/helpers/skiff-process.js';
import { freeClusterCidr, testPrefix } from '../../test/plugins/runtime-process/helpers.js';
import { load } from './load.js';
import { bareHttpProxy, bareRelayChain } from './proxy-ceiling.js';
import { fmt, type Row } from './report.js';

const MEGABYTES = 100;
const TRANSFERS = 3;
const NODE = 'bench';
const ROUND_TRIPS = 20;
const POD = [
  "process.on('SIGTERM',()=>process.exit(0));",
  "require('http').createServer((q,s)=>s.end('hello')).listen(8080);",
  `require('net').createServer(s=>{const b=Buffer.alloc(1<<20,120);let n=${MEGABYTES};`,
  "const w=()=>{while(n>0){n--;if(!s.write(b))return s.once('drain',w)}s.end()};w()}).listen(9000)",
].join('');

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

interface Cluster {
  dir: string;
  env: NodeJS.ProcessEnv;
  insecure: string;
  podIP: string;
  stop(): Promise<void>;
}

const exec = (env: NodeJS.ProcessEnv, args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile(kubectlPath!, args, { env, timeout: 120_000 }, (err, out, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(out),
    ),
  );

async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-proxy-'));
  const range = freeClusterCidr();
  const runtime = { prefix: testPrefix(), clusterCIDR: range.cluster, loopbackCIDR: `127.${range.second}.0.0/16` };
  const config = parseYaml(readFileSync('config/default.yaml', 'utf8'));
  Object.assign(config.server, { dataDir: join(dir, 'data'), securePort: 'auto', insecurePort: 'auto' });
  config.server.insecureBindAddress = '127.0.0.1';
  config.plugins['runtime-process'] = { config: runtime };
  config.plugins['node-kubelet'] = { config: { port: 'auto' } };
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, stringify(config));
  const processes = [spawnSkiff(['up', '--config', configFile, '--nodes', '0'])];
  const stop = async () => {
    for (const p of processes.reverse()) {
      p.child.kill('SIGTERM');
      await p.exited(30_000).catch(() => killAll([p]));
    }
    await sweepProcessRuntime(runtime, []);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const up = processes[0]!;
    await up.waitForLine('ready', (l) => l.msg === 'ready', 60_000);
    processes.push(await startKubelet(dir, configFile));
    const env = { ...process.env, HOME: dir, KUBECONFIG: join(dir, 'data', 'kubeconfig') };
    const overrides = JSON.stringify({ spec: { nodeName: NODE } });
    await exec(env, ['run', 'web', '--image=node', `--overrides=${overrides}`, '--command', '--', 'node', '-e', POD]);
    await exec(env, ['wait', '--for=condition=Ready', 'pod/web', '--timeout=60s']);
    const podIP = await exec(env, ['get', 'pod', 'web', '-o', 'jsonpath={.status.podIP}']);
    return { dir, env, insecure: insecureUrl(up.lines), podIP, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The node's kubelet as its own process, with a kubeconfig written as the README shows. */
async function startKubelet(dir: string, configFile: string): Promise<SkiffProcess> {
  const kubeconfig = join(dir, 'node.kubeconfig');
  const data = join(dir, 'data');
  const user = `system:node:${NODE}`;
  const written = spawnSkiff([
    'kubeconfig',
    '--user',
    user,
    '--group',
    'system:nodes',
    '--data-dir',
    data,
    '--out',
    kubeconfig,
  ]);
  if ((await written.exited(30_000)) !== 0) throw new Error(`skiff kubeconfig failed: ${written.output()}`);
  const root = join(dir, 'kubelet');
  const kubelet = spawnSkiff(['kubelet', '--kubeconfig', kubeconfig, '--config', configFile, '--root-dir', root]);
  await kubelet.waitForLine('kubelet started', (l) => l.msg === 'kubelet started', 30_000);
  return kubelet;
}

/** The insecure port from the start-up log ("serving the insecure port on http://…"). */
function insecureUrl(lines: Record<string, unknown>[]): string {
  for (const l of lines) {
    const m = /serving the insecure port on (http:\/\/[^:]+:\d+)/.exec(String(l.msg ?? ''));
    if (m) return m[1]!;
  }
  throw new Error('the insecure port is not in the log');
}

/** Reads everything from host:port; MB/s. */
function drain(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    let bytes = 0;
    const s = connect(port, host);
    s.on('data', (d) => {
      bytes += d.length;
    });
    s.on('end', () => resolve(bytes / 2 ** 20 / ((performance.now() - t) / 1000)));
    s.on('error', reject);
  });
}

/** The median of `TRANSFERS` reads of host:port (MB/s). */
async function medianRate(host: string, port: number): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < TRANSFERS; i++) rates.push(await drain(host, port));
  return percentile(rates, 50);
}

/** Transfers through one `kubectl port-forward`, as a user keeps one open. */
async function portForwardRate(c: Cluster): Promise<number> {
  const child = spawn(kubectlPath!, ['port-forward', 'pod/web', ':9000'], { env: c.env });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let text = '';
      child.stdout.on('data', (d) => {
        text += d;
        const m = /127\.0\.0\.1:(\d+)/.exec(text);
        if (m) resolve(Number(m[1]));
      });
      setTimeout(() => reject(new Error(`port-forward did not start: ${text}`)), 20_000);
    });
    return await medianRate('127.0.0.1', port);
  } finally {
    child.kill('SIGTERM');
  }
}

async function roundTrips(c: Cluster, args: string[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t = performance.now();
    await exec(c.env, args);
    times.push(performance.now() - t);
  }
  return times;
}

export async function benchProxy(seconds = 10): Promise<Row[]> {
  if (process.getuid?.() !== 0 || !kubectlPath)
    throw new Error('the proxy benchmark needs root (real pods) and kubectl');
  const c = await startCluster();
  try {
    const proxied = await load({
      url: `${c.insecure}/api/v1/namespaces/default/pods/web:8080/proxy/`,
      connections: 16,
      seconds,
    });
    const direct = await load({ url: `http://${c.podIP}:8080/`, connections: 16, seconds });
    const getPod = await load({ url: `${c.insecure}/api/v1/namespaces/default/pods/web`, connections: 16, seconds });
    const bare = await bareHttpProxy(c.podIP, 8080);
    const ceiling = await load({ url: `http://127.0.0.1:${bare.port}/`, connections: 16, seconds }).finally(bare.stop);
    const forwarded = await portForwardRate(c);
    const socket = await medianRate(c.podIP, 9000);
    const pki = join(c.dir, 'data', 'pki');
    const tls = {
      cert: readFileSync(join(pki, 'apiserver.crt'), 'utf8'),
      key: readFileSync(join(pki, 'apiserver.key'), 'utf8'),
    };
    const chain = await bareRelayChain(c.podIP, 9000, tls);
    const relayed = await medianRate('127.0.0.1', chain.port).finally(chain.stop);
    const exec = await roundTrips(c, ['exec', 'web', '--', 'true']);
    const get = await roundTrips(c, ['get', 'pod', 'web']);
    const ratio = proxied.requestsPerSecond / direct.requestsPerSecond;
    return [
      {
        scenario: 'proxy: HTTP through pods/proxy vs to the pod IP',
        skiff: `${fmt.rps(proxied.requestsPerSecond)}, p99 ${proxied.p99Ms.toFixed(1)} ms`,
        baseline: `${fmt.rps(direct.requestsPerSecond)}, p99 ${direct.p99Ms.toFixed(1)} ms`,
        ratio,
        target: '≥ 0.5',
        met: ratio >= 0.5 && proxied.errors + proxied.non2xx === 0,
      },
      {
        scenario: 'ceiling: HTTP through a bare Node.js proxy (nothing but forwarding) vs to the pod IP',
        skiff: `${fmt.rps(ceiling.requestsPerSecond)}, p99 ${ceiling.p99Ms.toFixed(1)} ms`,
        baseline: fmt.rps(direct.requestsPerSecond),
        ratio: ceiling.requestsPerSecond / direct.requestsPerSecond,
        target: 'report',
        met: true,
      },
      {
        scenario: 'proxy: HTTP through pods/proxy vs the bare Node.js proxy',
        skiff: fmt.rps(proxied.requestsPerSecond),
        baseline: fmt.rps(ceiling.requestsPerSecond),
        ratio: proxied.requestsPerSecond / ceiling.requestsPerSecond,
        target: 'report',
        met: true,
      },
      {
        scenario: 'proxy: HTTP through pods/proxy vs GET of the pod (same server)',
        skiff: fmt.rps(proxied.requestsPerSecond),
        baseline: fmt.rps(getPod.requestsPerSecond),
        ratio: proxied.requestsPerSecond / getPod.requestsPerSecond,
        target: 'report',
        met: true,
      },
      {
        scenario: `proxy: ${MEGABYTES} MB through kubectl port-forward vs a direct socket (median of ${TRANSFERS})`,
        skiff: `${forwarded.toFixed(0)} MB/s`,
        baseline: `${socket.toFixed(0)} MB/s`,
        ratio: forwarded / socket,
        target: '≥ 0.3',
        met: forwarded / socket >= 0.3,
      },
      {
        scenario: `ceiling: ${MEGABYTES} MB through three bare Node.js relays, two TLS links, vs a direct socket`,
        skiff: `${relayed.toFixed(0)} MB/s`,
        baseline: `${socket.toFixed(0)} MB/s`,
        ratio: relayed / socket,
        target: 'report',
        met: true,
      },
      {
        scenario: 'proxy: kubectl exec -- true vs kubectl get pod (p50/p99)',
        skiff: `${percentile(exec, 50).toFixed(0)}/${percentile(exec, 99).toFixed(0)} ms`,
        baseline: `${percentile(get, 50).toFixed(0)}/${percentile(get, 99).toFixed(0)} ms`,
        ratio: percentile(get, 50) / percentile(exec, 50),
        target: 'report',
        met: true,
      },
    ];
  } finally {
    await c.stop();
  }
}
