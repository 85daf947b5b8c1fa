/**
 * Simulated nodes from the command line: `skiff kubelet --runtime simulated --nodes N --name-prefix P`
 * as its own process over HTTPS, `--nodes` refused without the simulated runtime, and `skiff up`'s
 * local nodes on the simulated runtime (each its own system:node user, through the Node authorizer
 * and NodeRestriction).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { condition, LEASES, NODES, PODS, simPod, waitFor } from './helpers.js';

const CLI = new URL('../../../scripts/skiff.mjs', import.meta.url).pathname;

function skiff(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('runtime-simulated: from the command line', function () {
  this.timeout(30_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-sim-cli-'));
  const children: ChildProcess[] = [];
  const servers: TestServer[] = [];

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('skiff kubelet --nodes 2 without --runtime simulated is refused, saying what to add', async () => {
    const run = skiff(['kubelet', '--kubeconfig', join(dataDir, 'none'), '--nodes', '2', '--data-dir', dataDir]);
    children.push(run.child);
    expect(await run.exited).to.not.equal(0);
    expect(run.output()).to.include('SKIFF_KUBELET_NODES_NEED_SIMULATED').and.include('add --runtime simulated');
  });

  it('skiff kubelet --runtime simulated --nodes 3 --name-prefix cli- registers cli-0 … cli-2 over HTTPS and runs their pods', async () => {
    const server = await startTestServer({
      secure: true,
      plugins: { 'authn-x509': {}, 'node-kubelet': { config: { nodes: 0 } } },
    });
    servers.push(server);
    const args = ['kubelet', '--kubeconfig', server.kubeconfig!, '--runtime', 'simulated', '--nodes', '3'];
    const run = skiff([...args, '--name-prefix', 'cli-', '--data-dir', dataDir]);
    children.push(run.child);
    const admin = server.server.client();
    const nodes = await waitFor(
      'cli-0 … cli-2 Ready',
      () => admin.list(NODES, ''),
      (l) => l.items.filter((n) => condition(n as unknown as Pod, 'Ready') === 'True').length === 3,
      20_000,
    );
    expect(nodes.items.map((n) => n.metadata.name).sort()).to.deep.equal(['cli-0', 'cli-1', 'cli-2']);
    await waitFor(
      'their leases',
      () => admin.list(LEASES, 'kube-node-lease'),
      (l) => l.items.length === 3,
    );
    await admin.create(PODS, 'default', simPod('cli-pod', 'cli-1'));
    const pod = await waitFor(
      'cli-pod Running',
      () => admin.get(PODS, 'default', 'cli-pod'),
      (p) => (p.status as Pod['status'])?.phase === 'Running',
    );
    expect((pod.status as Pod['status'])?.podIP).to.be.a('string');
    run.child.kill('SIGTERM');
    expect(await run.exited, run.output()).to.equal(0);
  });

  it('skiff up --runtime simulated --nodes 3: local nodes <host>-1 … -3 register and run pods as their own system:node users (Node authorizer, NodeRestriction on)', async () => {
    const server = await startTestServer({
      role: 'up',
      plugins: {
        'authz-node': {},
        'authz-bootstrap-roles': {},
        'admission-node-restriction': {},
        'runtime-simulated': { config: { startDelaySeconds: 0.05 } },
        'node-kubelet': { config: { nodes: 3, runtime: 'simulated', hostnameOverride: 'upsim', port: 0 } },
      },
    });
    servers.push(server);
    const admin = server.server.client();
    const nodes = await waitFor(
      '3 nodes',
      () => admin.list(NODES, ''),
      (l) => l.items.length === 3,
    );
    expect(nodes.items.map((n) => n.metadata.name).sort()).to.deep.equal(['upsim-1', 'upsim-2', 'upsim-3']);
    await admin.create(PODS, 'default', simPod('up-pod', 'upsim-2'));
    await waitFor(
      'up-pod Running',
      () => admin.get(PODS, 'default', 'up-pod'),
      (p) => (p.status as Pod['status'])?.phase === 'Running',
    );
  });
});
