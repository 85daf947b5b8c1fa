/**
 * runtime-process against the runtime contract with real processes: pod networking (addresses,
 * the cluster route, pod↔pod across nodes), isolation (env, working dir, mounts, PID namespace),
 * cgroup limits, logs and graceful stop. Everything it makes uses its own prefix and cluster range
 * and is checked gone at the end.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { isRuntimeError } from 'skiff/sdk/runtime';
import { openProcessRuntime, sweepProcessRuntime } from '../../../plugins/runtime-process/index.js';
import type { ProcessRuntime } from '../../../plugins/runtime-process/runtime.js';
import {
  exitedStatus,
  freeClusterCidr,
  HTTP_SERVER,
  isRoot,
  leftovers,
  logOf,
  processesOf,
  rootReason,
  sandboxConfig,
  tempRoot,
  testPrefix,
  waitFor,
} from './helpers.js';

describe('runtime-process: networking, isolation, limits, logs (real processes)', function () {
  this.timeout(30_000);
  const prefix = testPrefix();
  const range = isRoot ? freeClusterCidr() : { cluster: '', second: 0, node: () => '' };
  const config = { prefix, clusterCIDR: range.cluster, loopbackCIDR: `127.${range.second}.0.0/16` };
  const roots: string[] = [];
  let node1: ProcessRuntime;
  let node2: ProcessRuntime;

  before(async function () {
    if (!isRoot) {
      console.warn(`      skipped: ${rootReason}`);
      this.skip();
    }
    roots.push(tempRoot(), tempRoot());
    node1 = await openProcessRuntime(config, { nodeName: 'n1', rootDir: roots[0], podCIDR: range.node(1) });
    node2 = await openProcessRuntime(config, { nodeName: 'n2', rootDir: roots[1], podCIDR: range.node(2) });
  });

  after(async () => {
    if (!isRoot) return;
    await node1?.close({ stopAll: true });
    await node2?.close({ stopAll: true });
    await sweepProcessRuntime(config, roots);
  });

  it('routes the whole cluster range to the bridge before any pod exists', () => {
    const unassigned = `10.${range.second}.77.77`;
    const route = execFileSync('ip', ['route', 'get', unassigned], { encoding: 'utf8' });
    expect(route).to.match(new RegExp(`dev ${prefix}0 `));
    expect(route).not.to.include('eth0');
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).to.equal('0');
  });

  it('gives two sandboxes addresses from the node CIDR; both serve :8080 and answer the host', async () => {
    const ips: string[] = [];
    for (const name of ['web-a', 'web-b']) {
      const sandbox = await node1.runPodSandbox(sandboxConfig(name));
      const id = await node1.createContainer(sandbox, { name: 'web', image: 'node', command: HTTP_SERVER });
      await node1.startContainer(id);
      ips.push((await node1.podSandboxStatus(sandbox)).ip);
      await waitFor(async () => (await logOf(node1, id)).includes('listening'), 5000, 'server');
    }
    expect(ips[0]).to.match(new RegExp(`^10\\.${range.second}\\.1\\.\\d+$`));
    expect(ips[1]).to.not.equal(ips[0]);
    for (const [i, ip] of ips.entries()) {
      expect(await (await fetch(`http://${ip}:8080/`)).text()).to.equal(`pod web-${'ab'[i]}`);
    }
  });

  it('lets a pod on node 2 reach a pod on node 1 (another /24, same bridge, no forwarding)', async () => {
    const [target] = await node1.listPodSandboxes({ state: 'ready' });
    const sandbox = await node2.runPodSandbox(sandboxConfig('client'));
    expect((await node2.podSandboxStatus(sandbox)).ip).to.match(new RegExp(`^10\\.${range.second}\\.2\\.`));
    const id = await node2.createContainer(sandbox, { name: 'c', image: 'busybox-like', command: ['sleep', '30'] });
    await node2.startContainer(id);
    const script = `fetch('http://${target.ip}:8080/').then(r => r.text()).then(t => console.log(t))`;
    const result = await node2.execSync(id, ['node', '-e', script], 10);
    expect(result.stdout.toString().trim()).to.equal(`pod ${target.metadata.name}`);
    await node2.removePodSandbox(sandbox);
  });

  it('runs a hostNetwork sandbox in the host network, at the node address', async () => {
    const sandbox = await node1.runPodSandbox({ ...sandboxConfig('hostnet'), hostNetwork: true });
    expect(await node1.podSandboxStatus(sandbox)).to.include({ ip: `10.${range.second}.1.1`, hostNetwork: true });
    expect((await node1.status()).nodeAddress).to.equal(`10.${range.second}.1.1`);
    const id = await node1.createContainer(sandbox, {
      name: 'look',
      image: 'debian',
      command: ['cat', '/proc/net/dev'],
    });
    await node1.startContainer(id);
    await exitedStatus(node1, id);
    expect(await logOf(node1, id), 'the host bridge is visible').to.include(`stdout F ${prefix}0:`);
    await node1.removePodSandbox(sandbox);
  });

  it('runs the command with its args, env and working dir, as PID 1 of its own namespace, named after the pod, no signal ignored', async () => {
    const sandbox = await node1.runPodSandbox(sandboxConfig('env'));
    const id = await node1.createContainer(sandbox, {
      name: 'env',
      image: 'debian',
      command: ['sh', '-c'],
      // /proc/1/environ: the environment the runtime gave (the shell then exports PWD itself).
      args: [
        'echo "$GREETING|$(pwd)|$$|$(hostname)|$0 $1"; tr "\\0" "\\n" < /proc/1/environ | cut -d= -f1 | sort | tr "\\n" ","; echo; grep SigIgn /proc/1/status',
        'first',
        'second',
      ],
      env: [{ name: 'GREETING', value: 'hello world' }],
      workingDir: '/usr/share',
    });
    await node1.startContainer(id);
    expect((await exitedStatus(node1, id)).exitCode).to.equal(0);
    const lines = (await logOf(node1, id)).split('\n').map((l) => l.replace(/^\S+ stdout F /, ''));
    expect(lines[0]).to.equal('hello world|/usr/share|1|env|first second');
    expect(lines[1]).to.equal('GREETING,HOSTNAME,PATH,');
    // No signal ignored (a background job of sh would have SIGINT and SIGQUIT ignored: 0...06).
    expect(lines[2]).to.equal('SigIgn:\t0000000000000000');
  });

  it('bind-mounts a host dir at its container path (read-only enforced) and removes the mount point it made', async () => {
    const volume = join(roots[0], 'volume');
    mkdirSync(volume);
    writeFileSync(join(volume, 'key'), 'value-from-volume');
    const mountPath = `/${prefix}-mnt/config`;
    const sandbox = await node1.runPodSandbox(sandboxConfig('mounts'));
    const id = await node1.createContainer(sandbox, {
      name: 'reader',
      image: 'debian',
      command: [
        'sh',
        '-c',
        `cat ${mountPath}/key; echo; touch ${mountPath}/new 2>/dev/null && echo writable || echo read-only`,
      ],
      mounts: [{ hostPath: volume, containerPath: mountPath, readonly: true }],
    });
    await node1.startContainer(id);
    await exitedStatus(node1, id);
    const log = await logOf(node1, id);
    expect(log).to.include('stdout F value-from-volume');
    expect(log).to.include('stdout F read-only');
    expect(existsSync(join(volume, 'new'))).to.equal(false);
    // The mount lived in the container's namespace only; the empty mount point goes with the container.
    expect(readFileSync('/proc/mounts', 'utf8')).not.to.include(mountPath);
    await node1.removePodSandbox(sandbox);
    expect(existsSync(`/${prefix}-mnt`)).to.equal(false);
  });

  it('kills a container over its memory limit: OOMKilled, exit code 137', async () => {
    const sandbox = await node1.runPodSandbox(sandboxConfig('oom'));
    const id = await node1.createContainer(sandbox, {
      name: 'hog',
      image: 'debian',
      command: ['sh', '-c', 'x=0123456789abcdef; while :; do x=$x$x; done'],
      resources: { memoryLimitInBytes: 32 * 1024 * 1024 },
    });
    await node1.startContainer(id);
    const status = await exitedStatus(node1, id);
    expect(status).to.include({ exitCode: 137, reason: 'OOMKilled' });
    await node1.removePodSandbox(sandbox);
  });

  it('applies a CPU quota: a busy loop limited to 20% uses about that', async () => {
    const sandbox = await node1.runPodSandbox(sandboxConfig('cpu'));
    const id = await node1.createContainer(sandbox, {
      name: 'spin',
      image: 'debian',
      command: ['sh', '-c', 'while :; do :; done'],
      resources: { cpuQuota: 20_000, cpuPeriod: 100_000, cpuShares: 256 },
    });
    await node1.startContainer(id);
    const group = `/sys/fs/cgroup/cpu/${prefix}/${sandbox.slice(0, 12)}/${id.slice(0, 12)}`;
    expect(readFileSync(`${group}/cpu.cfs_quota_us`, 'utf8').trim()).to.equal('20000');
    expect(readFileSync(`${group}/cpu.shares`, 'utf8').trim()).to.equal('256');
    const first = await node1.containerStats(id);
    await new Promise((r) => setTimeout(r, 1000));
    const second = await node1.containerStats(id);
    expect(second.cpu.usageCoreNanoSeconds).to.be.greaterThan(first.cpu.usageCoreNanoSeconds);
    expect(second.cpu.usageNanoCores).to.be.greaterThan(0).and.below(0.35e9);
    expect(second.memory.usageBytes).to.be.greaterThan(0);
    expect(second.processCount).to.equal(1);
    await node1.removePodSandbox(sandbox);
  });

  it('writes CRI-format logs and rotates them, keeping at most containerLogMaxFiles files', async () => {
    const root = tempRoot();
    roots.push(root);
    const small = await openProcessRuntime(config, {
      nodeName: 'n3',
      rootDir: root,
      podCIDR: range.node(3),
      containerLogMaxSize: 2000,
      containerLogMaxFiles: 3,
    });
    try {
      const sandbox = await small.runPodSandbox(sandboxConfig('logs'));
      const script =
        'i=0; while [ $i -lt 200 ]; do echo "line $i of the log"; i=$((i+1)); done; echo oops >&2; printf partial';
      const id = await small.createContainer(sandbox, { name: 'talk', image: 'debian', command: ['sh', '-c', script] });
      await small.startContainer(id);
      await exitedStatus(small, id);
      const { logPath } = await small.containerStatus(id);
      await waitFor(() => readFileSync(logPath, 'utf8').includes('partial'), 2000, 'last line');
      const files = readdirSync(join(logPath, '..'));
      expect(files.length).to.equal(3);
      const log = readFileSync(logPath, 'utf8');
      const all = files.map((f) => readFileSync(join(logPath, '..', f), 'utf8')).join('');
      for (const line of all.trim().split('\n')) {
        expect(line).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z (stdout|stderr) [FP] /);
      }
      expect(all).to.match(/ stdout F line 199 of the log\n/);
      expect(all).not.to.match(/ stdout F line 0 of the log\n/);
      expect(all).to.match(/ stderr F oops\n/);
      // stdout and stderr are read apart, so only each stream's own order is kept.
      expect(
        log
          .trim()
          .split('\n')
          .filter((l) => l.includes(' stdout '))
          .pop(),
      ).to.match(/ stdout F partial$/);
    } finally {
      await small.close({ stopAll: true });
    }
  });

  it('stops with grace: SIGTERM when handled, SIGKILL after the timeout when not', async () => {
    const sandbox = await node1.runPodSandbox(sandboxConfig('stop'));
    const polite = await node1.createContainer(sandbox, {
      name: 'polite',
      image: 'node',
      command: [
        'node',
        '-e',
        "process.on('SIGTERM', () => { console.log('bye'); process.exit(0) }); setInterval(() => {}, 1000); console.log('up')",
      ],
    });
    // A shell as PID 1 ignores SIGTERM it has no handler for (as under docker without --init).
    const stubborn = await node1.createContainer(sandbox, {
      name: 'stubborn',
      image: 'debian',
      command: ['sleep', '300'],
    });
    await node1.startContainer(polite);
    await node1.startContainer(stubborn);
    await waitFor(async () => (await logOf(node1, polite)).includes('up'), 5000, 'polite to start');
    const started = Date.now();
    await node1.stopContainer(polite, 10);
    expect(Date.now() - started).to.be.below(5000);
    expect(await node1.containerStatus(polite)).to.include({ state: 'exited', exitCode: 0, reason: 'Completed' });
    expect(await logOf(node1, polite)).to.include('stdout F bye');
    const killAt = Date.now();
    await node1.stopContainer(stubborn, 1);
    expect(Date.now() - killAt).to.be.within(900, 5000);
    expect(await node1.containerStatus(stubborn)).to.include({ state: 'exited', exitCode: 137, reason: 'Error' });
    await node1.removePodSandbox(sandbox);
  });

  it('refuses what it cannot run with coded errors: unknown image without command, missing program', async () => {
    const sandbox = await node1.runPodSandbox(sandboxConfig('errors'));
    const unknown = await node1.createContainer(sandbox, { name: 'x', image: 'no-such-image:1.0' }).catch((e) => e);
    expect(isRuntimeError(unknown, 'ImageNotFound'), String(unknown)).to.equal(true);
    await node1.resolveImage('no-such-image:1.0').then(
      () => expect.fail('resolved'),
      (e) => expect(isRuntimeError(e, 'ImageNotFound')).to.equal(true),
    );
    const missing = await node1.createContainer(sandbox, { name: 'y', image: 'debian', command: ['no-such-program'] });
    const err = await node1.startContainer(missing).catch((e) => e);
    expect(isRuntimeError(err, 'ContainerCannotRun'), String(err)).to.equal(true);
    expect(await node1.containerStatus(missing)).to.include({
      state: 'exited',
      exitCode: 128,
      reason: 'ContainerCannotRun',
    });
    await node1.removePodSandbox(sandbox);
  });

  it('leaves nothing behind after close({ stopAll: true }): no process, netns, link, route, mount or cgroup', async () => {
    await node1.close({ stopAll: true });
    await node2.close({ stopAll: true });
    expect(leftovers(prefix, range.cluster)).to.deep.equal([]);
    for (const root of roots) expect(processesOf(root)).to.deep.equal([]);
    rmSync(roots[0], { recursive: true, force: true });
  });
});
