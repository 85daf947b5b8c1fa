/**
 * The simulated runtime on its own (the ContainerRuntime contract, no server): addresses from the
 * node's pod CIDR as a real runtime hands them out, the start delay, scripted exits, stop, and
 * clear errors for what a runtime without processes cannot do.
 */
import { expect } from 'chai';
import { type ContainerRuntime, isRuntimeError } from 'skiff/sdk/runtime';
import { simulatedRuntimeProvider } from '../../../plugins/runtime-simulated/index.js';

const sandbox = (rt: ContainerRuntime, name: string, hostNetwork = false) =>
  rt.runPodSandbox({ metadata: { name, namespace: 'default', uid: `uid-${name}` }, hostNetwork });

async function rejects(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('runtime-simulated: the runtime', () => {
  const provider = simulatedRuntimeProvider({ startDelaySeconds: 0.05 });

  it('gives pods the next addresses of the pod CIDR after the node its first; hostNetwork pods the node address', async () => {
    const rt = await provider.open({ nodeName: 'n', rootDir: '/nonexistent', podCIDR: '10.64.7.0/24' });
    expect((await rt.status()).nodeAddress).to.equal('10.64.7.1');
    const a = await rt.podSandboxStatus(await sandbox(rt, 'a'));
    const b = await rt.podSandboxStatus(await sandbox(rt, 'b'));
    const host = await rt.podSandboxStatus(await sandbox(rt, 'h', true));
    expect([a.ip, b.ip, host.ip]).to.deep.equal(['10.64.7.2', '10.64.7.3', '10.64.7.1']);
    // A released address is not handed out again at once (as host-local IPAM).
    await rt.removePodSandbox(a.id);
    expect((await rt.podSandboxStatus(await sandbox(rt, 'c'))).ip).to.equal('10.64.7.4');
  });

  it('refuses sandboxes before the node has a pod CIDR, a CIDR outside the cluster range, and a full range', async () => {
    const rt = await provider.open({ nodeName: 'n', rootDir: '/nonexistent' });
    expect((await rt.status()).networkReady).to.equal(false);
    expect(isRuntimeError(await rejects(sandbox(rt, 'early')), 'NetworkNotReady')).to.equal(true);
    expect(
      isRuntimeError(await rejects(rt.updateRuntimeConfig({ podCIDR: '192.168.0.0/24' })), 'InvalidArgument'),
    ).to.equal(true);
    await rt.updateRuntimeConfig({ podCIDR: '10.64.9.0/30' });
    await sandbox(rt, 'only');
    const full = await rejects(sandbox(rt, 'more'));
    expect(isRuntimeError(full, 'NetworkNotReady') && (full as Error).message).to.include('the pod range is full');
  });

  it('a container is Running after the start delay, exits as scripted, and obeys stop with 143', async () => {
    const rt = await provider.open({ nodeName: 'n', rootDir: '/nonexistent', podCIDR: '10.64.8.0/24' });
    const sb = await rt.runPodSandbox({
      metadata: { name: 'p', namespace: 'default', uid: 'u' },
      annotations: { 'sim.skiff.dev/exit-after.job': '50ms', 'sim.skiff.dev/exit-code.job': '7' },
    });
    const job = await rt.createContainer(sb, { name: 'job', image: 'busybox' });
    const svc = await rt.createContainer(sb, { name: 'svc', image: 'busybox' });
    const started = Date.now();
    await Promise.all([rt.startContainer(job), rt.startContainer(svc)]);
    expect(Date.now() - started).to.be.at.least(40);
    expect((await rt.containerStatus(svc)).state).to.equal('running');
    const deadline = Date.now() + 2000;
    while ((await rt.containerStatus(job)).state !== 'exited' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(await rt.containerStatus(job)).to.include({ state: 'exited', exitCode: 7, reason: 'Error' });
    await rt.stopContainer(svc, 30);
    expect(await rt.containerStatus(svc)).to.include({ state: 'exited', exitCode: 143 });
  });

  it('exec, attach and port-forward fail with SKIFF_RUNTIME_UNAVAILABLE: there is no process', async () => {
    const rt = await provider.open({ nodeName: 'n', rootDir: '/nonexistent', podCIDR: '10.64.10.0/24' });
    const sb = await sandbox(rt, 'x');
    const id = await rt.createContainer(sb, { name: 'm', image: 'busybox' });
    await rt.startContainer(id);
    for (const call of [rt.exec(id, ['sh'], {}), rt.attach(id, {}), rt.portForward(sb, 80)]) {
      const err = await rejects(call);
      expect(isRuntimeError(err, 'Unavailable'), String(err)).to.equal(true);
      expect((err as { code: string }).code).to.equal('SKIFF_RUNTIME_UNAVAILABLE');
    }
  });
});
