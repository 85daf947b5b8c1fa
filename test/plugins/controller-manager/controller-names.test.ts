/**
 * `--controllers` with the names of the replication, deployment and garbage-collector controllers:
 * upstream accepts both its old flag names (`replicationcontroller`, `replicaset`, `deployment`,
 * `garbagecollector`) and its current ones (`replicationcontroller-controller`,
 * `replicaset-controller`, `deployment-controller`, `garbage-collector-controller`).
 */
import { expect } from 'chai';
import { loadConfig } from '../../../core/config/load.js';
import { controllerSelection } from '../../../plugins/controller-manager/selection.js';

const KNOWN = ['namespace', 'replicationcontroller', 'replicaset', 'deployment', 'garbagecollector'];
const chosen = (list: string) => KNOWN.filter(controllerSelection(list, KNOWN));

describe('plugins/controller-manager: --controllers with upstream names old and new', () => {
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

  it("upstream's current names that dashes alone do not reach select through a registration's aliases", () => {
    const known = ['endpoint', 'podgc', 'service'];
    const aliases = {
      endpoint: ['endpoints-controller'],
      podgc: ['pod-garbage-collector-controller'],
      service: ['service-lb-controller'],
    };
    const pick = (list: string) => known.filter(controllerSelection(list, known, aliases));
    expect(pick('endpoints-controller,pod-garbage-collector-controller')).to.deep.equal(['endpoint', 'podgc']);
    expect(pick('*,-service-lb-controller')).to.deep.equal(['endpoint', 'podgc']);
    expect(() => pick('service-lb-controller')).not.to.throw();
    expect(() => controllerSelection('service-lb-controller', known)).to.throw(/SKIFF_CONTROLLERS_UNKNOWN|not one of/);
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
