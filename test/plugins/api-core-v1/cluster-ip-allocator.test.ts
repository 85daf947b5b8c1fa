import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import {
  AllocationError,
  ClusterIPAllocator,
  NodePortAllocator,
  parseIPv4Cidr,
} from '../../../plugins/api-core-v1/cluster-ip-allocator.js';
import { RangeAllocator } from '../../../plugins/api-core-v1/range-allocator.js';

const svc = (name: string, clusterIP: string, nodePort?: number): KubeObject => ({
  metadata: { name, namespace: 'default' },
  spec: { clusterIP, clusterIPs: [clusterIP], ports: nodePort ? [{ port: 80, nodePort }] : [{ port: 80 }] },
});

async function allocationError(p: Promise<unknown>): Promise<AllocationError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AllocationError) return err;
    throw err;
  }
  throw new Error('expected an AllocationError');
}

describe('plugins/api-core-v1: cluster IP and node port allocators', () => {
  it('parses and normalises IPv4 ranges', () => {
    expect(parseIPv4Cidr('127.96.0.0/16')).to.deep.equal({ base: (127 << 24) + (96 << 16), prefix: 16 });
    expect(parseIPv4Cidr('10.0.0.7/24')!.base % 256).to.equal(0);
    for (const bad of ['fd00::/64', '10.0.0.0', '10.0.0.0/33', '10.0.0.256/8', '010.0.0.0/8']) {
      expect(parseIPv4Cidr(bad), bad).to.equal(undefined);
    }
  });

  it('loads lazily from stored services and skips the network, kubernetes and broadcast addresses', async () => {
    let loads = 0;
    const stored = [svc('a', '10.0.0.2')];
    const alloc = new ClusterIPAllocator('10.0.0.0/29', async () => {
      loads++;
      return stored;
    });
    expect(loads).to.equal(0);
    expect(alloc.kubernetesServiceIP).to.equal('10.0.0.1');
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await alloc.allocateNext(`default/s${i}`));
    expect(got).to.deep.equal(['10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    expect(loads).to.equal(1);
    const full = await allocationError(alloc.allocateNext('default/s9'));
    expect(full.reason).to.equal('full');
  });

  it('honours requested addresses: in range, free, the kubernetes address only on request', async () => {
    const alloc = new ClusterIPAllocator('10.0.0.0/24', async () => [svc('taken', '10.0.0.9')]);
    await alloc.allocate('10.0.0.1', 'default/kubernetes');
    await alloc.allocate('10.0.0.1', 'default/kubernetes');
    const taken = await allocationError(alloc.allocate('10.0.0.9', 'default/other'));
    expect(taken.message).to.equal('provided IP is already allocated');
    const outside = await allocationError(alloc.allocate('10.1.0.9', 'default/other'));
    expect(outside.message).to.equal(
      'the provided IP (10.1.0.9) is not in the valid range. The range of valid IPs is 10.0.0.0/24',
    );
    expect((await allocationError(alloc.allocate('10.0.0.255', 'default/other'))).reason).to.equal('not-in-range');
  });

  it('dry runs do not hold; release frees; an owner gets its own address back', async () => {
    const alloc = new ClusterIPAllocator('10.0.0.0/24', async () => []);
    const dry = await alloc.allocateNext('default/a', true);
    const real = await alloc.allocateNext('default/a');
    expect(real).to.equal(dry);
    expect(await alloc.allocateNext('default/a')).to.equal(real);
    alloc.release(real, 'default/someone-else');
    expect(await alloc.allocateNext('default/b')).to.not.equal(real);
    alloc.release(real, 'default/a');
    await alloc.allocate(real, 'default/c');
  });

  it('reclaims a hold whose create never reached storage once it is older than the grace period', async () => {
    let now = 0;
    const alloc = new ClusterIPAllocator('10.0.0.0/30', async () => [], { now: () => now, pendingTtlMs: 1000 });
    expect(await alloc.allocateNext('default/failed')).to.equal('10.0.0.2');
    expect((await allocationError(alloc.allocateNext('default/next'))).reason).to.equal('full');
    now = 5000;
    expect(await alloc.allocateNext('default/next')).to.equal('10.0.0.2');
  });

  it('retries a failed load on the next call', async () => {
    let fail = true;
    const alloc = new RangeAllocator({
      size: 4,
      load: async () => {
        if (fail) throw new Error('storage not open');
        return [];
      },
    });
    let caught: unknown;
    try {
      await alloc.allocateNext('x');
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.equal('storage not open');
    fail = false;
    expect(await alloc.allocateNext('x')).to.equal(0);
  });

  it('node ports: range, taken ports, sequential allocation', async () => {
    const ports = new NodePortAllocator(30000, 30002, async () => [svc('np', '10.0.0.5', 30000)]);
    expect(await ports.allocateNext('default/a')).to.equal(30001);
    expect((await allocationError(ports.allocate(30000, 'default/b'))).message).to.equal(
      'provided port is already allocated',
    );
    expect((await allocationError(ports.allocate(80, 'default/b'))).message).to.equal(
      'provided port is not in the valid range. The range of valid ports is 30000-30002',
    );
    await ports.allocate(30000, 'default/np');
  });
});
