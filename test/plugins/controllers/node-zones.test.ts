/**
 * controller-node-lifecycle's zone states, as upstream's handleDisruption decides them: a zone is
 * fully disrupted when none of its nodes is Ready, partially when at least the threshold (and more
 * than 2) are not; when every zone is fully disrupted the control plane is blamed, tainting stops
 * and the controller's taints are removed, until some node is Ready again.
 */
import { expect } from 'chai';
import type { NodeCondition } from 'kubernetes-types/core/v1.js';
import { computeZoneState, handleDisruption, Zones } from '../../../plugins/controller-node-lifecycle/zones.js';

const ready = (status: string): NodeCondition => ({ type: 'Ready', status });
const conditions = (readyCount: number, notReady: number) => [
  ...Array.from({ length: readyCount }, () => ready('True')),
  ...Array.from({ length: notReady }, () => ready('Unknown')),
];
const RATES = {
  nodeEvictionRate: 1000,
  secondaryNodeEvictionRate: 500,
  largeClusterSizeThreshold: 4,
  unhealthyZoneThreshold: 0.55,
};

/** Whether the zone's tainting queue lets a node through (after 5 ms: time for a token at these rates). */
async function lets(zones: Zones, zone: string): Promise<boolean> {
  await new Promise((r) => setTimeout(r, 5));
  const queue = zones.tainter(zone);
  const name = `probe-${Math.random()}`;
  queue.add(name, 'uid', Date.now() - 1);
  let through = false;
  await queue.tryEach(async () => {
    through = true;
    return { done: true };
  });
  queue.remove(name);
  return through;
}

function recorder() {
  const calls: string[] = [];
  return {
    calls,
    actions: {
      enterMasterDisruption: async () => {
        calls.push('enter');
      },
      exitMasterDisruption: () => {
        calls.push('exit');
      },
    },
  };
}

describe('controller-node-lifecycle zones', () => {
  it('computes each zone’s state from its Ready conditions', () => {
    expect(computeZoneState(conditions(3, 0), 0.55)).to.deep.equal([0, 'Normal']);
    expect(computeZoneState(conditions(0, 2), 0.55)).to.deep.equal([2, 'FullDisruption']);
    expect(computeZoneState(conditions(2, 3), 0.55)).to.deep.equal([3, 'PartialDisruption']);
    // Two of three not ready: over the threshold, but not more than 2 nodes.
    expect(computeZoneState(conditions(1, 2), 0.55)).to.deep.equal([2, 'Normal']);
    expect(computeZoneState([undefined, ready('False'), ready('True')], 0.55)).to.deep.equal([2, 'Normal']);
  });

  it('every zone fully disrupted: tainting stops everywhere until a node is Ready again', async () => {
    const zones = new Zones(RATES);
    const { calls, actions } = recorder();
    await handleDisruption(zones, new Map([['a', conditions(1, 0)]]), 0.55, actions);
    expect(await lets(zones, 'a')).to.equal(true);
    await handleDisruption(zones, new Map([['a', conditions(0, 1)]]), 0.55, actions);
    expect(calls).to.deep.equal(['enter']);
    expect(await lets(zones, 'a')).to.equal(false);
    // Still all down: nothing more happens.
    await handleDisruption(zones, new Map([['a', conditions(0, 1)]]), 0.55, actions);
    expect(calls).to.deep.equal(['enter']);
    await handleDisruption(zones, new Map([['a', conditions(1, 0)]]), 0.55, actions);
    expect(calls).to.deep.equal(['enter', 'exit']);
    expect(await lets(zones, 'a')).to.equal(true);
  });

  it('one zone fully disrupted beside a healthy one is tainted at the normal rate', async () => {
    const zones = new Zones(RATES);
    const { calls, actions } = recorder();
    await handleDisruption(
      zones,
      new Map([
        ['a', conditions(0, 2)],
        ['b', conditions(2, 0)],
      ]),
      0.55,
      actions,
    );
    expect(calls).to.deep.equal([]);
    expect(await lets(zones, 'a')).to.equal(true);
  });

  it('a partially disrupted zone slows to the secondary rate, or stops when small', async () => {
    const zones = new Zones(RATES);
    const { actions } = recorder();
    const byZone = new Map([
      ['large', conditions(2, 4)],
      ['small', conditions(1, 3)],
      ['healthy', conditions(3, 0)],
    ]);
    await handleDisruption(zones, byZone, 0.55, actions);
    expect(zones.states.get('large')).to.equal('PartialDisruption');
    expect(zones.states.get('small')).to.equal('PartialDisruption');
    expect(await lets(zones, 'large')).to.equal(true);
    expect(await lets(zones, 'small')).to.equal(false);
  });
});
