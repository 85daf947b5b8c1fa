/**
 * The Proxy API end to end: `skiff up --nodes 1` (a real child process, real pods) and the seed's
 * examples — nodes, pods and services through both proxy path forms with curl (the admin's client
 * certificate) and `kubectl get --raw` — then kubectl 1.32's logs (-f, --tail, --since,
 * --timestamps, --limit-bytes), exec (exit codes, stdin), attach, port-forward and cp; kubectl
 * 1.20 (SPDY only) for logs, exec and port-forward; and client-node's Exec and PortForward.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { parse as parseYaml, stringify } from 'yaml';
import { sweepProcessRuntime } from '../../plugins/runtime-process/index.js';
import { kubectl120Path, kubectlPath } from '../helpers/kubectl.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';
import { NO_KUBECTL_120, skipBecause } from '../helpers/skip.js';
import { waitFor } from '../helpers/wait.js';
import { freeClusterCidr, isRoot, testPrefix } from '../plugins/runtime-process/helpers.js';

const WEB = [
  "process.on('SIGTERM',()=>process.exit(0));",
  "setInterval(()=>console.log('tick'),500);",
  "require('http').createServer((q,s)=>{if(q.url==='/go'){s.writeHead(302,{Location:'/landed/'});return s.end()}",
  "if(q.url==='/'){s.setHeader('Content-Type','text/html');",
  'return s.end(\'<html><title>myweb</title><h1>Hello from myweb</h1><a href="docs/index.html">docs</a></html>\')}',
  "if(q.url==='/docs/index.html'){s.setHeader('Content-Type','text/html');return s.end('<h2>myweb docs</h2>')}",
  "s.end('myweb '+q.url)}).listen(8080)",
].join('');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('e2e: the Proxy API and streaming through skiff up', function () {
  this.timeout(180_000);
  let dir: string;
  let kubeconfig: string;
  let up: SkiffProcess;
  let runtime: { prefix: string; clusterCIDR: string; loopbackCIDR: string };
  let node: string;
  let server: string;

  const run = (bin: string, args: string[], input?: string, ms = 60_000) =>
    new Promise<Run>((resolve) => {
      const env = { ...process.env, HOME: dir, KUBECONFIG: kubeconfig };
      const child = execFile(bin, args, { env, timeout: ms }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  const kubectl = (args: string[], input?: string) => run(kubectlPath!, ['--request-timeout=30s', ...args], input);
  const ok = async (args: string[], input?: string, bin = kubectlPath!) => {
    const r = await run(bin, args, input);
    expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };
  const curl = (path: string, extra: string[] = []) => {
    const pki = join(dir, 'data', 'pki');
    return run('curl', [
      '-sS',
      '--cacert',
      join(pki, 'ca.crt'),
      '--cert',
      join(pki, 'admin.crt'),
      '--key',
      join(pki, 'admin.key'),
      ...extra,
      `${server}${path}`,
    ]);
  };

  before(async function () {
    if (!isRoot || !kubectlPath) {
      console.warn('      skipped: needs root (runtime-process) and kubectl');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'skiff-proxy-e2e-'));
    const range = freeClusterCidr();
    runtime = { prefix: testPrefix(), clusterCIDR: range.cluster, loopbackCIDR: `127.${range.second}.0.0/16` };
    const config = parseYaml(readFileSync('config/default.yaml', 'utf8'));
    config.server.dataDir = join(dir, 'data');
    config.server.securePort = 'auto';
    config.plugins['runtime-process'] = { config: runtime };
    config.plugins['node-kubelet'] = { config: { port: 'auto', shutdownGracePeriod: 2, relistPeriod: 0.3 } };
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, stringify(config));
    up = spawnSkiff(['up', '--config', configFile, '--nodes', '1', '--hostname-override', 'px']);
    await up.waitForLine('ready', (l) => l.msg === 'ready', 60_000);
    kubeconfig = join(dir, 'data', 'kubeconfig');
    server = parseYaml(readFileSync(kubeconfig, 'utf8')).clusters[0].cluster.server;
    node = (
      await waitFor(
        'a Ready node',
        () => kubectl(['get', 'nodes', '--no-headers']),
        (r) => / Ready /.test(r.stdout),
        60_000,
      )
    ).stdout.split(/\s+/)[0]!;
    await ok(['run', 'web', '--image=node', '--port=8080', '--labels=app=myweb', '--command', '--', 'node', '-e', WEB]);
    await ok(['expose', 'pod', 'web', '--name=myweb', '--port=80', '--target-port=8080']);
    await ok(['wait', '--for=condition=Ready', 'pod/web', '--timeout=60s']);
  });

  after(async () => {
    if (up && up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      await up.exited(20_000).catch(() => undefined);
    }
    if (up) killAll([up]);
    if (runtime) await sweepProcessRuntime({ ...runtime }, []);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("answers the seed's node examples in both forms: pods, stats, spec, metrics, runningpods, logs", async () => {
    for (const prefix of [`/api/v1/nodes/${node}/proxy`, `/api/v1/proxy/nodes/${node}`]) {
      expect(JSON.parse(await ok(['get', '--raw', `${prefix}/pods`])).kind).to.equal('PodList');
      expect(JSON.parse(await ok(['get', '--raw', `${prefix}/stats/summary`])).node.nodeName).to.equal(node);
      expect(JSON.parse(await ok(['get', '--raw', `${prefix}/spec/`])).num_cores).to.be.a('number');
      expect(await ok(['get', '--raw', `${prefix}/metrics`])).to.include('kubelet_running_pods');
      expect(JSON.parse(await ok(['get', '--raw', `${prefix}/runningpods/`])).items).to.be.an('array');
      expect(await ok(['get', '--raw', `${prefix}/logs/`])).to.include('<a href=');
    }
    const viaCurl = await curl(`/api/v1/proxy/nodes/${node}/pods`, ['-i']);
    expect(viaCurl.stdout).to.match(/Warning: 299 - ".*deprecated/);
  });

  it('answers pods and services through both forms, with curl and kubectl get --raw', async () => {
    for (const path of [
      '/api/v1/namespaces/default/pods/web/proxy/index.html',
      '/api/v1/proxy/namespaces/default/pods/web:8080/index.html',
      '/api/v1/namespaces/default/services/myweb/proxy/index.html',
      '/api/v1/proxy/namespaces/default/services/myweb:80/index.html',
    ]) {
      expect(await ok(['get', '--raw', path]), path).to.equal('myweb /index.html');
      expect((await curl(path)).stdout, path).to.equal('myweb /index.html');
    }
    const redirect = await curl('/api/v1/namespaces/default/pods/web/proxy/go', [
      '-o',
      '/dev/null',
      '-w',
      '%{http_code} %header{location}',
    ]);
    expect(redirect.stdout).to.equal('302 /api/v1/namespaces/default/pods/web/proxy/landed/');
  });

  it('kubectl logs: --tail, --timestamps, --limit-bytes, --since, and -f following new lines', async () => {
    expect((await ok(['logs', 'web', '--tail=2'])).trim().split('\n')).to.deep.equal(['tick', 'tick']);
    expect(await ok(['logs', 'web', '--tail=1', '--timestamps'])).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z tick\n$/);
    expect(await ok(['logs', 'web', '--limit-bytes=3'])).to.equal('tic');
    expect(await ok(['logs', 'web', '--since=1s'])).to.match(/^(tick\n){1,3}$/);
    const followed = await run(kubectlPath!, ['logs', '-f', 'web', '--tail=0'], undefined, 2500);
    expect((followed.stdout.match(/tick/g) ?? []).length).to.be.within(2, 6);
  });

  it('kubectl exec: output, exit codes, stdin (-i), and cp (tar through exec)', async () => {
    expect(await ok(['exec', 'web', '--', 'node', '-e', 'console.log(6*7)'])).to.equal('42\n');
    const failed = await kubectl(['exec', 'web', '--', 'sh', '-c', 'exit 3']);
    expect(failed.code).to.equal(3);
    expect(failed.stderr).to.include('command terminated with exit code 3');
    expect(await ok(['exec', '-i', 'web', '--', 'sh', '-c', 'tr a-z A-Z'], 'through stdin\n')).to.equal(
      'THROUGH STDIN\n',
    );
    const file = join(dir, 'copied.txt');
    writeFileSync(file, 'copied in and out\n');
    await ok(['cp', file, 'web:/tmp/copied.txt']);
    await ok(['cp', 'web:/tmp/copied.txt', join(dir, 'back.txt')]);
    expect(readFileSync(join(dir, 'back.txt'), 'utf8')).to.equal('copied in and out\n');
  });

  it('kubectl exec -it: a terminal in the pod, sized by the resize channel', async function () {
    const script = await run('sh', ['-c', 'command -v script']);
    if (script.code !== 0) skipBecause(this, 'script(1) is not installed (bsdutils)');
    // script(1) gives kubectl a terminal of 45 rows and 123 columns; the pod's tty gets that size.
    // The command waits a second: the kubelet applies the first resize after the command starts
    // (a command that reads its size at once sees 0 0; reported to the kubelet's owner).
    const r = await run('script', [
      '-qec',
      `stty rows 45 cols 123; ${kubectlPath} exec -it web -- sh -c 'sleep 1; stty size'`,
      '/dev/null',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/45 123\r?\n/);
  });

  it('kubectl attach: stdin reaches the container, its output comes back', async () => {
    await ok(
      [
        'run',
        'echoer',
        '--image=node',
        '-i',
        '--restart=Never',
        '--command',
        '--',
        'node',
        '-e',
        "process.stdin.once('data',d=>{console.log('got '+String(d).trim());process.exit(0)})",
      ],
      'hello attach\n',
    );
    expect(await ok(['logs', 'echoer'])).to.equal('got hello attach\n');
  });

  it('kubectl port-forward: a local port reaches the pod', async () => {
    await portForward(kubectlPath!, (port) => fetch(`http://127.0.0.1:${port}/pf`).then((r) => r.text()), 'myweb /pf');
  });

  it('kubectl 1.20 (SPDY only): logs, exec with stdin, port-forward', async function () {
    if (!kubectl120Path) skipBecause(this, NO_KUBECTL_120);
    const k = kubectl120Path!;
    expect(await ok(['logs', 'web', '--tail=1'], undefined, k)).to.equal('tick\n');
    expect(await ok(['exec', '-i', 'web', '--', 'cat'], 'spdy stdin\n', k)).to.equal('spdy stdin\n');
    await portForward(k, (port) => fetch(`http://127.0.0.1:${port}/old`).then((r) => r.text()), 'myweb /old');
  });

  it("client-node's Exec and PortForward", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    let out = '';
    const stdout = new Writable({
      write(chunk, _e, cb) {
        out += chunk;
        cb();
      },
    });
    const status = await new Promise<k8s.V1Status>((resolve, reject) => {
      new k8s.Exec(kc)
        .exec('default', 'web', 'web', ['sh', '-c', 'echo from client-node'], stdout, null, null, false, (s) =>
          resolve(s),
        )
        .catch(reject);
    });
    expect(status.status).to.equal('Success');
    expect(out).to.equal('from client-node\n');
    const forward = new k8s.PortForward(kc);
    const local: Server = createServer((socket) => {
      void forward.portForward('default', 'web', [8080], socket, null, socket);
    });
    await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
    try {
      const port = (local.address() as { port: number }).port;
      const answer = await fetch(`http://127.0.0.1:${port}/cn`, { headers: { Connection: 'close' } }).then((r) =>
        r.text(),
      );
      expect(answer).to.equal('myweb /cn');
    } finally {
      local.close();
    }
  });

  it('a browser through kubectl proxy: Chromium loads the page and a sub-path, and takes a screenshot', async function () {
    const chromium = await run('sh', ['-c', 'command -v chromium']);
    if (chromium.code !== 0) {
      console.warn('      SKIPPED: chromium is not installed (bash .ci/run installs it: apt-get install chromium)');
      this.skip();
    }
    const env = { ...process.env, HOME: dir, KUBECONFIG: kubeconfig };
    const proxy = execFile(kubectlPath!, ['proxy', '--port=0'], { env });
    try {
      const base = await new Promise<string>((resolve, reject) => {
        let text = '';
        proxy.stdout!.on('data', (d) => {
          text += d;
          const m = /Starting to serve on (127\.0\.0\.1:\d+)/.exec(text);
          if (m) resolve(`http://${m[1]}`);
        });
        setTimeout(() => reject(new Error(`kubectl proxy did not start: ${text}`)), 15_000);
      });
      const page = `${base}/api/v1/namespaces/default/services/myweb/proxy/`;
      const browse = (args: string[]) =>
        run(chromium.stdout.trim(), [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          `--user-data-dir=${join(dir, 'chromium')}`,
          ...args,
        ]);
      const dom = await browse(['--dump-dom', page]);
      expect(dom.stdout).to.include('<h1>Hello from myweb</h1>');
      // The page's relative link resolves under the proxy path with no rewriting.
      const docs = await browse(['--dump-dom', `${page}docs/index.html`]);
      expect(docs.stdout).to.include('<h2>myweb docs</h2>');
      const shot = join(dir, 'myweb.png');
      await browse([`--screenshot=${shot}`, '--window-size=800,600', page]);
      const png = readFileSync(shot);
      expect(png.subarray(1, 4).toString()).to.equal('PNG');
      expect(png.length).to.be.above(1000);
    } finally {
      proxy.kill('SIGTERM');
    }
  });

  /** Runs `kubectl port-forward pod/web :8080`, calls `probe` on the local port it reports, then stops it. */
  async function portForward(bin: string, probe: (port: number) => Promise<string>, expected: string) {
    const env = { ...process.env, HOME: dir, KUBECONFIG: kubeconfig };
    const child = execFile(bin, ['port-forward', 'pod/web', ':8080'], { env });
    const lines = new PassThrough();
    child.stdout!.pipe(lines);
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let text = '';
        lines.on('data', (d) => {
          text += d;
          const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(text);
          if (m) resolve(Number(m[1]));
        });
        setTimeout(() => reject(new Error(`no port reported: ${text}`)), 15_000);
      });
      expect(await probe(port)).to.equal(expected);
    } finally {
      child.kill('SIGTERM');
    }
  }
});
