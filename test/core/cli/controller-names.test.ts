/**
 * `--controllers` with the names of the replication, deployment and garbage-collector controllers:
 * upstream accepts both its old flag names (`replicationcontroller`, `replicaset`, `deployment`,
 * `garbagecollector`) and its current ones (`replicationcontroller-controller`,
 * `replicaset-controller`, `deployment-controller`, `garbage-collector-controller`).
 */
import { expect } from 'chai';
import { controllerSelection } from '../../../core/cli/commands/controller-selection.js';
import { loadConfig } from '../../../core/config/load.js';

const KNOWN = ['namespace', 'replicationcontroller', 'replicaset', 'deployment', 'garbagecollector'];
const chosen = (list: string) => KNOWN.filter(controllerSelection(list, KNOWN));

describe('core/cli: --controllers with upstream names old and new', () => {
  it('the old flag names select the controllers', () => {
    expect(chosen('replicationcontroller,replicaset')).to.deep.equal(['replicationcontroller', 'replicaset']);
    expect(chosen('*,-deployment,-garbagecollector')).to.deep.equal([
      'namespace',
      'replicationcontroller',
      'replicaset',
    ]);
  });

  it('the current names (dashes, -controller) mean the same controllers', () => {
    expect(chosen('garbage-collector-controller')).to.deep.equal(['garbagecollector']);
    expect(chosen('replicationcontroller-controller,deployment-controller')).to.deep.equal([
      'replicationcontroller',
      'deployment',
    ]);
    expect(chosen('*,-garbage-collector-controller')).to.deep.equal([
      'namespace',
      'replicationcontroller',
      'replicaset',
      'deployment',
    ]);
  });

  it('a negated entry never turns its controller on', () => {
    expect(chosen('-replicaset-controller')).to.deep.equal([]);
    expect(chosen('-garbage-collector-controller,garbagecollector')).to.deep.equal([]);
  });

  it('the default config registers these controllers under those names', async () => {
    const config = await loadConfig(undefined);
    const names = config.plugins.map((p) => p.name);
    for (const plugin of [
      'api-apps-v1',
      'controller-replication',
      'controller-deployment',
      'controller-garbage-collector',
    ]) {
      expect(names).to.include(plugin);
    }
  });
});
