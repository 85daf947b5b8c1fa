/**
 * Sandboxes asked for together are set up by one shell, their namespaces side by side: one that
 * fails is named with what `ip` said about it, and the others of its batch are set up all the same.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { parseCidr } from '../../../plugins/runtime-process/cidr.js';
import { which } from '../../../plugins/runtime-process/host.js';
import { BridgeNetwork, networkNames } from '../../../plugins/runtime-process/network.js';
import { NOT_ROOT, skipBecause } from '../../helpers/skip.js';
import { freeClusterCidr, isRoot, leftovers, testPrefix } from './helpers.js';

describe('runtime-process: sandbox networks set up in batches', function () {
  this.timeout(30_000);
  const prefix = testPrefix();
  const range = isRoot ? freeClusterCidr() : { cluster: '10.0.0.0/16', second: 0, node: () => '10.0.1.0/24' };
  let network: BridgeNetwork;
  const ids = ['aaaa1111', 'bbbb2222', 'cccc3333', 'dddd4444'];

  before(function () {
    if (!isRoot) skipBecause(this, NOT_ROOT);
    network = new BridgeNetwork(which('ip')!, networkNames(prefix), parseCidr(range.cluster));
  });

  after(async () => {
    if (!isRoot) return;
    for (const id of ids) await network.removeSandbox(id);
    await network.removeBridgeIfUnused();
    expect(leftovers(prefix, range.cluster)).to.deep.equal([]);
  });

  it('one bad sandbox in a batch fails with what ip said; the rest hold their addresses', async () => {
    const node = parseCidr(range.node(1));
    const address = (i: number) => `10.${range.second}.1.${i}`;
    const results = await Promise.allSettled([
      network.createSandbox(ids[0]!, address(2), node),
      network.createSandbox(ids[1]!, address(3), node),
      network.createSandbox(ids[2]!, '999.0.0.1', node),
      network.createSandbox(ids[3]!, address(4), node),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const reason = (results[2] as PromiseRejectedResult).reason as Error;
    expect(reason.message).to.match(/ip -batch: .*999\.0\.0\.1/);
    const held: [string, string][] = [
      [ids[0]!, address(2)],
      [ids[1]!, address(3)],
      [ids[3]!, address(4)],
    ];
    for (const [id, ip] of held) {
      const args = ['-n', network.netnsOf(id), '-4', '-o', 'addr', 'show', 'dev', 'eth0'];
      expect(execFileSync('ip', args, { encoding: 'utf8' })).to.include(`${ip}/24`);
    }
    // The failed one is removed at once: no namespace is left for it.
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.to.include(network.netnsOf(ids[2]!));
  });
});
