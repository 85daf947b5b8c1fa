import { expect } from 'chai';
import type { KubeObject } from '../../../core/api/types.js';
import {
  AllocationError,
  ClusterIPAllocator,
  NodePortAllocator,
  parseIPv4Cidr,
  staticBandSize,
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
    const alloc = new ClusterIPAllocator(
      '10.0.0.0/29',
      async () => {
        loads++;
        return stored;
      },
      { random: () => 0 },
    );
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
    const alloc = new ClusterIPAllocator('10.0.0.0/24', async () => [], { random: () => 0 });
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
      random: () => 0,
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

  it('node ports: range, taken ports, the first free from where the scan starts', async () => {
    const ports = new NodePortAllocator(30000, 30002, async () => [svc('np', '10.0.0.5', 30000)], {
      random: () => 0,
    });
    expect(await ports.allocateNext('default/a')).to.equal(30001);
    expect((await allocationError(ports.allocate(30000, 'default/b'))).message).to.equal(
      'provided port is already allocated',
    );
    expect((await allocationError(ports.allocate(80, 'default/b'))).message).to.equal(
      'provided port is not in the valid range. The range of valid ports is 30000-30002',
    );
    await ports.allocate(30000, 'default/np');
  });

  describe('the static band kept for pinned values (KEP-3070, KEP-3668)', () => {
    const lastOctet = (ip: string) => Number(ip.split('.')[3]);

    it("has upstream's sizes: min(max(16, size/16), 256) addresses, min(max(16, size/32), 128) ports", () => {
      const ips = (prefix: number) => staticBandSize(2 ** (32 - prefix), 16, 16, 256);
      const ports = (first: number, last: number) => staticBandSize(last - first + 1, 16, 32, 128);
      expect([ips(12), ips(16), ips(20), ips(24), ips(27), ips(28), ips(29)]).to.deep.equal([
        256, 256, 256, 16, 16, 0, 0,
      ]);
      expect([ports(30000, 32767), ports(30000, 30999), ports(30000, 30099), ports(30000, 30015)]).to.deep.equal([
        86, 31, 16, 0,
      ]);
      expect(ports(20000, 39999)).to.equal(128);
    });

    it('dynamic addresses come at random from above the band; pinned ones below it stay free', async () => {
      const alloc = new ClusterIPAllocator('10.0.0.0/24', async () => []);
      const got = [];
      for (let i = 0; i < 100; i++) got.push(await alloc.allocateNext(`default/s${i}`));
      expect(
        got.every((ip) => lastOctet(ip) >= 17 && lastOctet(ip) <= 254),
        got.join(' '),
      ).to.equal(true);
      expect(new Set(got).size).to.equal(100);
      // Handed out in order, 100 addresses from .2 would be .2-.101: random ones are not.
      expect(got.map(lastOctet).join()).to.not.equal(Array.from({ length: 100 }, (_, i) => i + 17).join());
      for (let octet = 2; octet <= 16; octet++) await alloc.allocate(`10.0.0.${octet}`, `default/pinned-${octet}`);
    });

    it('the band is used only once everything above it is taken', async () => {
      // A /27: .1 is the kubernetes service's, .2-.16 the band, .17-.30 dynamic, .31 broadcast.
      const alloc = new ClusterIPAllocator('10.0.0.0/27', async () => []);
      const upper = [];
      for (let i = 0; i < 14; i++) upper.push(lastOctet(await alloc.allocateNext(`default/u${i}`)));
      expect(upper.sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 14 }, (_, i) => i + 17));
      const lower = lastOctet(await alloc.allocateNext('default/overflow'));
      expect(lower).to.be.within(2, 16);
    });

    it('node ports: dynamic ones start above 30085 in the default range, 30000 stays free to pin', async () => {
      const ports = new NodePortAllocator(30000, 32767, async () => []);
      const got = [];
      for (let i = 0; i < 200; i++) got.push(await ports.allocateNext(`default/s${i}`));
      expect(Math.min(...got)).to.be.at.least(30086);
      expect(new Set(got).size).to.equal(200);
      await ports.allocate(30000, 'default/pinned');
      await ports.allocate(30085, 'default/pinned');
    });
  });
});
