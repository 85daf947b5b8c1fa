/**
 * runtime-process with real processes: exec (sync, streaming, terminal), attach, port-forward,
 * stats, adoption by a new runtime on the same root dir, and the host-network fallback.
 */
import type { Readable } from 'node:stream';
import { expect } from 'chai';
import { isRuntimeError } from 'skiff/sdk/runtime';
import { which } from '../../../plugins/runtime-process/host.js';
import { openProcessRuntime, sweepProcessRuntime } from '../../../plugins/runtime-process/index.js';
import { alive } from '../../../plugins/runtime-process/proc.js';
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

function collect(stream: Readable | undefined): { text: () => string } {
  const chunks: Buffer[] = [];
  stream?.on('data', (c: Buffer) => chunks.push(c));
  return { text: () => Buffer.concat(chunks).toString() };
}

describe('runtime-process: exec, attach, port-forward, stats, adoption (real processes)', function () {
  this.timeout(30_000);
  const prefix = testPrefix();
  const range = isRoot ? freeClusterCidr() : { cluster: '', second: 0, node: () => '' };
  const config = { prefix, clusterCIDR: range.cluster, loopbackCIDR: `127.${range.second}.0.0/16` };
  const roots: string[] = [];
  let runtime: ProcessRuntime;
  let sandbox: string;
  let web: string;

  before(async function () {
    if (!isRoot) {
      console.warn(`      skipped: ${rootReason}`);
      this.skip();
    }
    roots.push(tempRoot());
    runtime = await openProcessRuntime(config, { nodeName: 'n1', rootDir: roots[0], podCIDR: range.node(1) });
    sandbox = await runtime.runPodSandbox(sandboxConfig('web'));
    web = await runtime.createContainer(sandbox, {
      name: 'web',
      image: 'node',
      command: HTTP_SERVER,
      workingDir: '/tmp',
    });
    await runtime.startContainer(web);
    await waitFor(async () => (await logOf(runtime, web)).includes('listening'), 5000, 'server');
  });

  after(async () => {
    if (!isRoot) return;
    await runtime?.close({ stopAll: true });
    await sweepProcessRuntime(config, roots);
  });

  it('exec sync: exit code, stdout and stderr, in the container (its working dir, env, PID namespace)', async () => {
    const result = await runtime.execSync(web, [
      'sh',
      '-c',
      'echo "out $(pwd) $HOSTNAME"; echo err >&2; ls /proc | grep -c "^[0-9]"; exit 3',
    ]);
    expect(result.exitCode).to.equal(3);
    const [first, count] = result.stdout.toString().trim().split('\n');
    expect(first).to.equal('out /tmp web');
    // Only the container's processes are visible: the server, the shell and ls (and grep).
    expect(Number(count)).to.be.within(2, 5);
    expect(result.stderr.toString()).to.equal('err\n');
  });

  it('exec sync times out with DeadlineExceeded and kills the command', async () => {
    const err = await runtime.execSync(web, ['sleep', '30'], 0.3).catch((e) => e);
    expect(isRuntimeError(err, 'DeadlineExceeded'), String(err)).to.equal(true);
    const left = await runtime.execSync(web, ['sh', '-c', 'cat /proc/[0-9]*/comm | grep -c "^sleep$" || true']);
    expect(left.stdout.toString().trim()).to.equal('0');
  });

  it('exec streaming: stdin in, stdout out, exit code', async () => {
    const session = await runtime.exec(web, ['sh', '-c', 'tr a-z A-Z; exit 4'], {
      stdin: true,
      stdout: true,
      stderr: true,
    });
    const out = collect(session.stdout);
    session.stdin?.end('hello exec\n');
    expect(await session.exit).to.deep.equal({ exitCode: 4 });
    expect(out.text()).to.equal('HELLO EXEC\n');
  });

  it('exec with a terminal: the command sees a tty of the size asked for', async () => {
    const session = await runtime.exec(web, ['sh', '-c', 'sleep 0.5; [ -t 0 ] && echo is-a-tty; stty size'], {
      stdin: true,
      stdout: true,
      tty: true,
    });
    const out = collect(session.stdout);
    session.resize({ width: 100, height: 40 });
    expect(await session.exit).to.deep.equal({ exitCode: 0 });
    expect(out.text()).to.include('is-a-tty');
    expect(out.text()).to.include('40 100');
    expect(session.stderr).to.equal(undefined);
  });

  it('attach: writes to the stdin of a running container and reads what it prints', async () => {
    const reader = await runtime.createContainer(sandbox, {
      name: 'reader',
      image: 'debian',
      command: ['sh', '-c', 'while read line; do echo "got $line"; done; echo "stdin closed"'],
      stdin: true,
      stdinOnce: true,
    });
    await runtime.startContainer(reader);
    const session = await runtime.attach(reader, { stdin: true, stdout: true, stderr: true });
    const out = collect(session.stdout);
    session.stdin?.write('hello attach\n');
    await waitFor(() => out.text().includes('got hello attach'), 5000, 'echo');
    // stdinOnce: ending the first session closes the container's stdin.
    session.stdin?.end();
    await exitedStatus(runtime, reader);
    expect(await logOf(runtime, reader)).to.include('stdout F stdin closed');
    expect((await session.exit).exitCode).to.equal(0);
  });

  it('attach to a container with a terminal: input echoed through its pty, resize seen by stty', async () => {
    const shell = await runtime.createContainer(sandbox, {
      name: 'shell',
      image: 'debian',
      command: ['sh'],
      stdin: true,
      tty: true,
    });
    await runtime.startContainer(shell);
    const session = await runtime.attach(shell, { stdin: true, stdout: true, stderr: true, tty: true });
    expect(session.stderr, 'a terminal merges stderr into stdout').to.equal(undefined);
    const out = collect(session.stdout);
    session.resize({ width: 120, height: 30 });
    await new Promise((r) => setTimeout(r, 300));
    session.stdin?.write('[ -t 0 ] && echo "tty: $(stty size)"\n');
    await waitFor(() => out.text().includes('tty: 30 120'), 5000, 'stty size through the pty');
    session.close();
    expect((await runtime.containerStatus(shell)).state, 'closing an attach leaves the container running').to.equal(
      'running',
    );
    await runtime.stopContainer(shell, 0);
  });

  it('port-forward: a byte stream to the pod port :8080', async () => {
    const stream = await runtime.portForward(sandbox, 8080);
    const out = collect(stream);
    stream.end('GET / HTTP/1.0\r\nHost: pod\r\n\r\n');
    await new Promise((resolve) => stream.on('close', resolve));
    expect(out.text()).to.match(/^HTTP\/1\.1 200 OK/);
    expect(out.text()).to.match(/pod web$/);
    const refused = await runtime.portForward(sandbox, 8081).catch((e) => e);
    expect(isRuntimeError(refused, 'Unavailable'), String(refused)).to.equal(true);
  });

  it('stats: memory in use, CPU time growing under load, network bytes after traffic', async () => {
    const before = await runtime.podSandboxStats(sandbox);
    for (let i = 0; i < 5; i++)
      await (await fetch(`http://${(await runtime.podSandboxStatus(sandbox)).ip}:8080/`)).text();
    await runtime.execSync(web, ['node', '-e', 'const end = Date.now() + 300; while (Date.now() < end);']);
    const after = await runtime.podSandboxStats(sandbox);
    const webStats = after.containers.find((c) => c.name === 'web')!;
    expect(webStats.memory.workingSetBytes).to.be.greaterThan(1 << 20);
    expect(webStats.memory.rssBytes).to.be.greaterThan(1 << 20);
    expect(after.cpu.usageCoreNanoSeconds - before.cpu.usageCoreNanoSeconds).to.be.greaterThan(100e6);
    expect(after.cpu.usageNanoCores).to.be.greaterThan(0);
    expect(after.network?.rxBytes).to.be.greaterThan(before.network?.rxBytes ?? 0);
    expect(after.network?.txBytes).to.be.greaterThan(before.network?.txBytes ?? 0);
    expect(webStats.logsUsedBytes).to.be.greaterThan(0);
    expect(webStats.processCount).to.equal(1);
  });

  it('runs busybox applets for image busybox (skipped without busybox)', async function () {
    if (!which('busybox')) this.skip();
    const id = await runtime.createContainer(sandbox, {
      name: 'bb',
      image: 'docker.io/library/busybox:1.36',
      command: ['echo', 'from busybox'],
    });
    await runtime.startContainer(id);
    await exitedStatus(runtime, id);
    expect(await logOf(runtime, id)).to.include('stdout F from busybox');
  });

  it('adoption: a new runtime on the same root dir controls what still runs and reads how the rest ended', async () => {
    const root = tempRoot();
    roots.push(root);
    const first = await openProcessRuntime(config, { nodeName: 'n2', rootDir: root, podCIDR: range.node(2) });
    const pod = await first.runPodSandbox(sandboxConfig('adopt'));
    const long = await first.createContainer(pod, {
      name: 'long',
      image: 'debian',
      command: ['sh', '-c', 'echo started; exec sleep 300'],
    });
    const short = await first.createContainer(pod, {
      name: 'short',
      image: 'debian',
      command: ['sh', '-c', 'sleep 0.3; exit 7'],
    });
    await first.startContainer(long);
    await first.startContainer(short);
    const pid = (await first.containerStatus(long)).pid;
    await first.close(); // a kubelet crash: nothing is stopped
    await new Promise((r) => setTimeout(r, 600));
    const second = await openProcessRuntime(config, { nodeName: 'n2', rootDir: root, podCIDR: range.node(2) });
    try {
      expect(await second.containerStatus(long)).to.include({ state: 'running', pid });
      expect(await second.containerStatus(short)).to.include({ state: 'exited', exitCode: 7, reason: 'Error' });
      expect((await second.podSandboxStatus(pod)).state).to.equal('ready');
      expect((await second.execSync(long, ['echo', 'adopted'])).stdout.toString()).to.equal('adopted\n');
      await second.stopContainer(long, 0);
      expect(await second.containerStatus(long)).to.include({ state: 'exited', exitCode: 137 });
      expect(await logOf(second, long)).to.include('stdout F started');
    } finally {
      await second.close({ stopAll: true });
    }
    expect(processesOf(root)).to.deep.equal([]);
  });

  it('fallback (network: host, namespaces: false, as without root): 127.x addresses, one warning, plain processes', async () => {
    const root = tempRoot();
    roots.push(root);
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (_: object, msg?: string) => warnings.push(msg ?? '') };
    const hostConfig = { ...config, network: 'host' as const, namespaces: false };
    const fallback = await openProcessRuntime(hostConfig, {
      nodeName: 'n3',
      rootDir: root,
      podCIDR: range.node(3),
      logger,
    });
    try {
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include(`127.${range.second}.0.0/16`).and.include('PID and mount namespaces');
      expect(await fallback.status()).to.include({ networkMode: 'host', namespaces: false });
      const pod = await fallback.runPodSandbox(sandboxConfig('loop'));
      const ip = (await fallback.podSandboxStatus(pod)).ip;
      expect(ip).to.match(new RegExp(`^127\\.${range.second}\\.3\\.\\d+$`));
      const server = `require('http').createServer((q, s) => s.end('loopback pod ' + process.pid)).listen(0, '${ip}', function () { console.log('port ' + this.address().port) })`;
      const id = await fallback.createContainer(pod, { name: 'srv', image: 'node', command: ['node', '-e', server] });
      await fallback.startContainer(id);
      const port = Number((await waitFor(async () => /port (\d+)/.exec(await logOf(fallback, id)), 5000, 'port'))[1]);
      const { pid } = await fallback.containerStatus(id);
      expect(await (await fetch(`http://${ip}:${port}/`)).text()).to.equal(`loopback pod ${pid}`);
      const forwarded = await fallback.portForward(pod, port);
      forwarded.destroy();
      const mounted = await fallback
        .createContainer(pod, {
          name: 'm',
          image: 'debian',
          command: ['true'],
          mounts: [{ hostPath: root, containerPath: '/elsewhere' }],
        })
        .catch((e) => e);
      expect(isRuntimeError(mounted, 'ContainerCannotRun'), String(mounted)).to.equal(true);
      await fallback.stopContainer(id, 0);
      expect(await fallback.containerStatus(id)).to.include({ state: 'exited', exitCode: 137 });
    } finally {
      await fallback.close({ stopAll: true });
    }
    expect(processesOf(root)).to.deep.equal([]);
  });

  it('image nginx runs the built-in static web server on :80', async () => {
    const pod = await runtime.runPodSandbox(sandboxConfig('nginx'));
    const id = await runtime.createContainer(pod, { name: 'nginx', image: 'nginx:1.27' });
    await runtime.startContainer(id);
    const ip = (await runtime.podSandboxStatus(pod)).ip;
    const page = await waitFor(
      () =>
        fetch(`http://${ip}/`).then(
          (r) => r.text(),
          () => '',
        ),
      5000,
      'nginx',
    );
    expect(page).to.include('Welcome to nginx!');
    await runtime.removePodSandbox(pod);
  });

  it('sweep removes what a crashed runtime left running: processes, namespace, links, route, cgroups', async () => {
    const root = tempRoot();
    const crashed = await openProcessRuntime(config, { nodeName: 'n4', rootDir: root, podCIDR: range.node(4) });
    const pod = await crashed.runPodSandbox(sandboxConfig('orphan'));
    const id = await crashed.createContainer(pod, { name: 'orphan', image: 'debian', command: ['sleep', '300'] });
    await crashed.startContainer(id);
    const { pid } = await crashed.containerStatus(id);
    await crashed.close(); // no stopAll: everything stays, as after a crash
    await runtime.close({ stopAll: true });
    expect(processesOf(root).length).to.be.greaterThan(0);
    expect(leftovers(prefix, range.cluster).length).to.be.greaterThan(0);
    await sweepProcessRuntime(config, [root]);
    expect(leftovers(prefix, range.cluster)).to.deep.equal([]);
    expect(processesOf(root)).to.deep.equal([]);
    expect(alive(pid!), 'the container process is gone (a zombie awaiting its reaper counts as gone)').to.equal(false);
  });

  it('leaves nothing behind after close({ stopAll: true })', async () => {
    await runtime.close({ stopAll: true });
    await sweepProcessRuntime(config); // idempotent on a clean host
    expect(leftovers(prefix, range.cluster)).to.deep.equal([]);
    for (const root of roots) expect(processesOf(root)).to.deep.equal([]);
  });
});
