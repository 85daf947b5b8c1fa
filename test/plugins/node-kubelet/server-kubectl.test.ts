/**
 * The decisive check of the kubelet's streaming protocols: the real kubectl, unmodified, talking to
 * the kubelet through a test-only reverse proxy (kubelet-proxy.ts: pods/exec → /exec/<ns>/<pod>/<c>
 * with the API server's kubelet client certificate, bytes copied both ways; issue 22 builds the real
 * one). kubectl 1.32 execs over WebSocket v5 and, forced, SPDY/3.1, and port-forwards over SPDY
 * tunnelled in WebSocket and, forced, plain SPDY; kubectl 1.20 speaks SPDY only.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { kubectl120Path, kubectlPath } from '../../helpers/kubectl.js';
import { NO_KUBECTL_120, skipBecause } from '../../helpers/skip.js';
import { HTTP_SERVER, isRoot, PODS, podSpec, rootReason, waitFor } from './helpers.js';
import { type KubeletProxy, startKubeletProxy } from './kubelet-proxy.js';
import { type ServerHarness, startServerHarness } from './server-helpers.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('node-kubelet server: kubectl exec and port-forward through a test proxy', function () {
  this.timeout(120_000);
  let h: ServerHarness;
  let proxy: KubeletProxy;
  const home = mkdtempSync(join(tmpdir(), 'skiff-kubectl-home-'));
  const children: ChildProcess[] = [];

  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    KUBECONFIG: '/dev/null',
    HOME: home,
    ...extra,
  });
  const args = (rest: string[]) => [`--server=${proxy.url}`, `--cache-dir=${join(home, 'cache')}`, ...rest];

  function kubectl(
    binary: string | undefined,
    rest: string[],
    options: { input?: string; env?: Record<string, string> } = {},
  ): Promise<Run> {
    return new Promise((resolve, reject) => {
      if (!binary) return reject(new Error('kubectl is missing'));
      const child = execFile(binary, args(rest), { env: env(options.env), timeout: 60_000 }, (err, stdout, stderr) => {
        const code = err ? (err as { code?: number }).code : 0;
        resolve({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      });
      child.stdin!.end(options.input ?? '');
    });
  }

  /** Starts `kubectl port-forward pod/web :8080` and resolves with the local port it chose. */
  function portForward(binary: string | undefined, extra: Record<string, string> = {}): Promise<number> {
    if (!binary) throw new Error('kubectl is missing');
    const child = spawn(binary, args(['port-forward', 'pod/web', ':8080']), { env: env(extra) });
    children.push(child);
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.on('exit', (code) => reject(new Error(`kubectl port-forward exited ${code}: ${out}`)));
    });
  }

  before(async function () {
    if (!isRoot || !kubectlPath) {
      console.warn(`      skipped: ${isRoot ? 'kubectl is not installed' : rootReason}`);
      this.skip();
    }
    h = await startServerHarness();
    await h.serving('kc');
    const port = await h.portOf('kc');
    await h.admin.create(PODS, 'default', podSpec('web', 'kc', HTTP_SERVER));
    await waitFor(
      'pod web running',
      () => h.admin.get(PODS, 'default', 'web'),
      (p) => (p.status as { phase?: string })?.phase === 'Running',
    );
    proxy = await startKubeletProxy(h.server.url, port, h.apiserverClient);
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await proxy?.close();
    await h?.close();
    rmSync(home, { recursive: true, force: true });
  });

  const SCRIPT = ['sh', '-c', 'cat; echo to-stderr >&2; exit 3'];

  /** The upgrade kubectl made for its last request. */
  const lastUpgrade = () => proxy.upgrades.at(-1) ?? '';

  for (const [label, extra, upgrade] of [
    ['WebSocket v5', {}, /^websocket v5\.channel\.k8s\.io/],
    [
      'SPDY/3.1 (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)',
      { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' },
      /^SPDY\/3\.1 /,
    ],
  ] as const) {
    it(`kubectl 1.32 exec -i over ${label}: stdin in, stdout and stderr out, exit code 3`, async () => {
      const r = await kubectl(kubectlPath, ['exec', '-i', 'web', '--', ...SCRIPT], {
        input: 'from kubectl\n',
        env: extra,
      });
      expect(lastUpgrade()).to.match(upgrade);
      expect(r.stdout).to.equal('from kubectl\n');
      expect(r.stderr).to.equal('to-stderr\ncommand terminated with exit code 3\n');
      expect(r.code).to.equal(3);
    });
  }

  it('kubectl 1.20 exec -i (SPDY, v4.channel.k8s.io): stdin, stdout, stderr, exit code', async function () {
    if (!kubectl120Path) skipBecause(this, NO_KUBECTL_120);
    const r = await kubectl(kubectl120Path, ['exec', '-i', 'web', '--', ...SCRIPT], { input: 'from 1.20\n' });
    expect(lastUpgrade()).to.match(/^SPDY\/3\.1 v4\.channel\.k8s\.io/);
    expect(r.stdout).to.equal('from 1.20\n');
    expect(r.stderr).to.equal('to-stderr\ncommand terminated with exit code 3\n');
    expect(r.code).to.equal(3);
  });

  for (const [label, binary, extra, upgrade] of [
    [
      'kubectl 1.32 over SPDY tunnelled in WebSocket',
      () => kubectlPath,
      {},
      /^websocket SPDY\/3\.1\+portforward\.k8s\.io$/,
    ],
    [
      'kubectl 1.32 over SPDY (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)',
      () => kubectlPath,
      { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' },
      /^SPDY\/3\.1 portforward\.k8s\.io$/,
    ],
    ['kubectl 1.20 over SPDY', () => kubectl120Path, {}, /^SPDY\/3\.1 portforward\.k8s\.io$/],
  ] as const) {
    it(`${label}: port-forward carries HTTP requests to the pod's server`, async function () {
      if (!binary()) skipBecause(this, `${label}: no such kubectl here (bash .ci/run unpacks kubectl 1.20)`);
      const local = await portForward(binary(), extra);
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`http://127.0.0.1:${local}/`);
        expect(await res.text()).to.equal('pod web');
      }
      expect(lastUpgrade()).to.match(upgrade);
    });
  }
});
