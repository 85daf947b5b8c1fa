/**
 * The seed's externalLoadBalancers path end to end, with the default config: `skiff up --nodes 1`
 * (a real child process) runs two real pods of a Deployment; `kubectl expose --type=LoadBalancer`
 * makes a Service whose EXTERNAL-IP, from cloud-local, is a TCP balancer on loopback that forwards
 * to the node's NodePort (served by the service proxy), which forwards to the pods: an HTTP GET of
 * the EXTERNAL-IP reaches both pods. Deleting the Service closes the balancer. The runtime uses its
 * own prefix and cluster range; the balancer a range of this run's own.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml, stringify } from 'yaml';
import { sweepProcessRuntime } from '../../plugins/runtime-process/index.js';
import { kubectlPath } from '../helpers/kubectl.js';
import { killAll, type SkiffProcess, spawnSkiff } from '../helpers/skiff-process.js';
import { waitFor } from '../helpers/wait.js';
import { freeClusterCidr, isRoot, testPrefix } from '../plugins/runtime-process/helpers.js';

const SERVER =
  "process.on('SIGTERM',()=>process.exit(0));require('http').createServer((q,s)=>s.end('hello from '+require('os').hostname())).listen(8080)";
const BALANCER_RANGE = `127.97.${1 + Math.floor(Math.random() * 250)}.0/24`;

/** One GET on a connection of its own (so each is balanced afresh): the body, or the error code. */
const get = (url: string) =>
  new Promise<string>((resolve) => {
    const req = httpGet(url, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

describe('e2e: a LoadBalancer Service through cloud-local, the NodePort and real pods', function () {
  this.timeout(120_000);
  let dir: string;
  let up: SkiffProcess | undefined;
  let runtime: { prefix: string; clusterCIDR: string; loopbackCIDR: string } | undefined;

  const kubectl = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const env = { ...process.env, HOME: dir, KUBECONFIG: join(dir, 'data', 'kubeconfig') };
      execFile(kubectlPath!, ['--request-timeout=20s', ...args], { env, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const ok = async (args: string[]) => {
    const r = await kubectl(args);
    expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  before(async function () {
    if (!isRoot || !kubectlPath) {
      console.warn('      skipped: needs root (runtime-process) and kubectl');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'skiff-lb-e2e-'));
    const range = freeClusterCidr();
    runtime = { prefix: testPrefix(), clusterCIDR: range.cluster, loopbackCIDR: `127.${range.second}.0.0/16` };
    const config = parseYaml(readFileSync('config/default.yaml', 'utf8'));
    config.server.dataDir = join(dir, 'data');
    config.server.securePort = 'auto';
    config.plugins['runtime-process'] = { config: runtime };
    config.plugins['node-kubelet'] = { config: { port: 'auto' } };
    config.plugins['cloud-local'] = { config: { addressRange: BALANCER_RANGE } };
    const file = join(dir, 'config.yaml');
    writeFileSync(file, stringify(config));
    up = spawnSkiff(['up', '--config', file, '--nodes', '1', '--hostname-override', 'lb']);
    await up.waitForLine('ready', (l) => l.msg === 'ready', 60_000);
  });
  after(async () => {
    if (up && up.child.exitCode === null && up.child.signalCode === null) {
      up.child.kill('SIGTERM');
      await up.exited(20_000).catch(() => undefined);
    }
    if (up) killAll([up]);
    if (runtime) await sweepProcessRuntime(runtime, []);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl expose --type=LoadBalancer: the EXTERNAL-IP answers from both pods; deleting the Service closes it', async () => {
    await ok(['create', 'deployment', 'web', '--image=node', '--replicas=2', '--', 'node', '-e', SERVER]);
    await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']);
    await ok(['expose', 'deployment', 'web', '--type=LoadBalancer', '--port=8088', '--target-port=8080']);
    const ip = await waitFor(
      'an EXTERNAL-IP',
      async () => (await ok(['get', 'svc', 'web', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'])).trim(),
      (x) => x !== '',
      20_000,
    );
    expect(ip.startsWith(BALANCER_RANGE.slice(0, -'0/24'.length))).to.equal(true);
    const pods = (await ok(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}'])).trim();
    const answers = new Set<string>();
    await waitFor(
      'answers from both pods',
      async () => {
        answers.add(await get(`http://${ip}:8088/`));
        return [...answers];
      },
      (a) => pods.split(' ').every((p) => a.includes(`hello from ${p}`)),
      20_000,
    );
    expect([...answers].filter((a) => !a.startsWith('hello from '))).to.deep.equal([]);

    await ok(['delete', 'svc', 'web']);
    expect(await get(`http://${ip}:8088/`)).to.equal('ECONNREFUSED');
  });
});
