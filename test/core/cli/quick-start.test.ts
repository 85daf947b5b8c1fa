/**
 * The quick start as a new user meets it, with real processes: a taken port ends in a coded error
 * that names the address, the flag and the fix (not a stack trace); `skiff kubeconfig` points at
 * the address the server actually serves; and one signal stops everything that `npx skiff up` or
 * `npm start` started, leaving no server behind with PPID 1.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { readKubeconfig } from '../../../core/client/kubeconfig.js';
import { LocalPki } from '../../../plugins/pki-local/local-pki.js';
import { kubectl, kubectlPath } from '../../helpers/kubectl.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const BIN = join(REPO, 'scripts/skiff.mjs');

/** A command started in its own process group, so the test can see every process it made. */
interface Launched {
  child: ChildProcess;
  output(): string;
  /** The first pino line whose msg matches, within `ms`. */
  line(msg: RegExp, ms?: number): Promise<Record<string, unknown>>;
  /** Resolves once no process of the group is left; rejects after `ms` naming what remains. */
  allGone(ms?: number): Promise<void>;
}

const launched: Launched[] = [];
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'skiff-quick-start-'));
  dirs.push(d);
  return d;
};

const groupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function launch(command: string, args: string[]): Launched {
  const child = spawn(command, args, { cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => {
    text += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const poll = async <T>(what: string, ms: number, probe: () => T | undefined): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = probe();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const self: Launched = {
    child,
    output: () => text,
    line: (msg, ms = 30_000) =>
      poll(`a log line matching ${msg}`, ms, () =>
        text
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => msg.test(String(l.msg))),
      ),
    allGone: (ms = 10_000) =>
      poll('every process of the group to exit', ms, () => (groupAlive(child.pid!) ? undefined : true)).then(
        () => undefined,
        (err: Error) => {
          const left = spawnSync('ps', ['-o', 'pid,ppid,args', '-g', String(child.pid)], { encoding: 'utf8' });
          throw new Error(`${err.message}\nstill running:\n${left.stdout}`);
        },
      ),
  };
  launched.push(self);
  return self;
}

const serveArgs = (dataDir: string) => ['--data-dir', dataDir, '--secure-port', 'auto', '--storage-backend', 'memory'];

describe('quick start, as a new user meets it', () => {
  after(() => {
    for (const l of launched) if (l.child.pid && groupAlive(l.child.pid)) process.kill(-l.child.pid, 'SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  describe('a port that is taken', function () {
    this.timeout(60_000);
    let holder: Server;
    let port: number;
    before(async () => {
      holder = createServer();
      await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
      port = (holder.address() as { port: number }).port;
    });
    after(() => holder?.close());

    const run = (args: string[]) =>
      spawnSync(process.execPath, [BIN, 'up', '--data-dir', tempDir(), '--storage-backend', 'memory', ...args], {
        encoding: 'utf8',
        timeout: 30_000,
      });

    it('--secure-port: SKIFF_PORT_IN_USE names the address, the flag and the fix; no stack trace; exit 2', () => {
      const r = run(['--secure-port', String(port)]);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(`error SKIFF_PORT_IN_USE: cannot listen on 127.0.0.1:${port} (--secure-port)`);
      expect(r.stderr).to.match(/fix: .*--secure-port auto for a free one/);
      expect(r.stderr).to.not.match(/^\s+at /m);
    });

    it('--insecure-port: the same, naming that flag', () => {
      const r = run(['--secure-port', '0', '--insecure-port', String(port)]);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(`error SKIFF_PORT_IN_USE: cannot listen on 127.0.0.1:${port} (--insecure-port)`);
      expect(r.stderr).to.not.match(/^\s+at /m);
    });
  });

  describe('skiff kubeconfig points at the address the server serves', function () {
    this.timeout(60_000);

    it('after `skiff apiserver --secure-port auto`, the kubeconfig has that port, and kubectl gets through with it', async () => {
      const dataDir = tempDir();
      const server = launch(process.execPath, [BIN, 'apiserver', ...serveArgs(dataDir), '--log-level', 'info']);
      const serving = await server.line(/^serving HTTPS on /);
      const url = String(serving.msg).replace('serving HTTPS on ', '');
      const r = spawnSync(process.execPath, [BIN, 'kubeconfig', '--user', 'jane', '--data-dir', dataDir], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).to.equal(0);
      const config = parseYaml(r.stdout);
      expect(config.clusters[0].cluster.server).to.equal(url);
      expect(url).to.not.equal('https://127.0.0.1:6443');
      if (kubectlPath) {
        const file = join(dataDir, 'jane.kubeconfig');
        writeFileSync(file, r.stdout, { mode: 0o600 });
        const who = await kubectl(url, ['--kubeconfig', file, 'auth', 'whoami']);
        expect(who.stdout, who.stderr).to.match(/Username\s+jane/);
      }
      const given = spawnSync(
        process.execPath,
        [BIN, 'kubeconfig', '--user', 'jane', '--data-dir', dataDir, '--server', 'https://10.0.0.1:6443'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      expect(parseYaml(given.stdout).clusters[0].cluster.server, '--server wins').to.equal('https://10.0.0.1:6443');
      server.child.kill('SIGTERM');
      await server.allGone();
    });

    it('a wildcard bind address (--bind-address 0.0.0.0) is written as loopback, which clients dial and the certificate names', async () => {
      const dataDir = tempDir();
      const pki = new LocalPki(dataDir, { ownsCA: true });
      for (const [served, written] of [
        ['https://0.0.0.0:7443', 'https://127.0.0.1:7443'],
        ['https://[::]:7443', 'https://127.0.0.1:7443'],
        ['https://[::1]:7443', 'https://[::1]:7443'],
        ['https://127.0.0.5:7443', 'https://127.0.0.5:7443'],
      ]) {
        const file = await pki.writeAdminKubeconfig(served!);
        expect(readKubeconfig(file).server, served).to.equal(written);
      }
    });
  });

  describe('one signal stops everything', function () {
    this.timeout(90_000);

    it('SIGTERM to `node scripts/skiff.mjs up` stops it gracefully (exit 0) with nothing left', async () => {
      const up = launch(process.execPath, [BIN, 'up', ...serveArgs(tempDir())]);
      await up.line(/^ready$/);
      up.child.kill('SIGTERM');
      await up.line(/^stopped$/);
      await up.allGone();
      expect(up.child.exitCode).to.equal(0);
    });

    it('SIGTERM to the PID of `npx skiff up` stops the server it started too', async () => {
      const up = launch('npx', ['--yes', 'skiff', 'up', ...serveArgs(tempDir())]);
      await up.line(/^ready$/, 60_000);
      up.child.kill('SIGTERM');
      await up.allGone();
      expect(up.output()).to.match(/"msg":"the parent process \(npm's shell\) exited: shutting down"/);
      expect(up.output()).to.contain('"msg":"stopped"');
    });

    it('SIGTERM to the PID of `npm start` stops the server it started too', async () => {
      const up = launch('npm', ['start', '--', ...serveArgs(tempDir())]);
      await up.line(/^ready$/, 60_000);
      up.child.kill('SIGTERM');
      await up.allGone();
      expect(up.output()).to.contain('"msg":"stopped"');
    });

    it('Ctrl-C in the terminal of `npm start` (SIGINT to the whole group) stops it once, gracefully', async () => {
      const up = launch('npm', ['start', '--', ...serveArgs(tempDir())]);
      await up.line(/^ready$/, 60_000);
      process.kill(-up.child.pid!, 'SIGINT');
      await up.allGone();
      expect(up.output()).to.contain('"msg":"SIGINT received: shutting down"');
      expect(up.output()).to.contain('"msg":"stopped"');
      expect(up.output()).to.not.contain('exiting at once');
    });
  });
});
