/** `skiff controller-manager`'s pure parts: upstream's --controllers list, and the default --master. */
import { expect } from 'chai';
import { loadConfig } from '../../../core/config/load.js';
import { SkiffError } from '../../../core/errors.js';
import type { ControllerRegistration } from '../../../core/hooks.js';
import { selectedPlugins } from '../../../core/sdk/component.js';
import { defaultMaster } from '../../../plugins/controller-manager/command.js';
import {
  controllerPlugins,
  controllerSelection,
  selectControllers,
} from '../../../plugins/controller-manager/selection.js';

const KNOWN = ['namespace', 'serviceaccount', 'resourcequota'];
const chosen = (list: string) => KNOWN.filter(controllerSelection(list, KNOWN));

describe('plugins/controller-manager: skiff controller-manager', () => {
  it('--controllers: * for all, -foo to leave one out, bare names alone', () => {
    expect(chosen('*')).to.deep.equal(KNOWN);
    expect(chosen('*,-namespace')).to.deep.equal(['serviceaccount', 'resourcequota']);
    expect(chosen('namespace')).to.deep.equal(['namespace']);
    expect(chosen('-namespace')).to.deep.equal([]);
    // Upstream's current names (namespace-controller) mean the same controllers.
    expect(chosen('*,-serviceaccount-controller')).to.deep.equal(['namespace', 'resourcequota']);
    expect(chosen('resourcequota-controller, namespace')).to.deep.equal(['namespace', 'resourcequota']);
    // The first entry naming a controller decides, as upstream.
    expect(chosen('namespace,-namespace')).to.deep.equal(['namespace']);
  });

  it('--controllers: an unknown name is a coded error listing the known ones', () => {
    expect(() => controllerSelection('*,-nodelifecycle', KNOWN))
      .to.throw(SkiffError, /"-nodelifecycle" is not one of the known controllers \(namespace, serviceaccount/)
      .with.property('code', 'SKIFF_CONTROLLERS_UNKNOWN');
  });

  it('selectControllers hands the manager only the chosen registrations', async () => {
    const all: ControllerRegistration[] = KNOWN.map((name) => ({ name, create: () => ({ run: async () => {} }) }));
    const { source: selected, names } = await selectControllers({ controllers: async () => all }, '*,-resourcequota');
    expect(names).to.deep.equal(['namespace', 'serviceaccount']);
    const registered = (await selected.controllers()).map((r) => r.name);
    expect(registered).to.deep.equal(names);
  });

  it('without --master: the secure port of the same config file, on loopback for a wildcard bind', () => {
    expect(defaultMaster({ bindAddress: '127.0.0.1', securePort: 6443 })).to.equal('https://127.0.0.1:6443');
    expect(defaultMaster({ bindAddress: '0.0.0.0', securePort: 7443 })).to.equal('https://127.0.0.1:7443');
    expect(defaultMaster({ bindAddress: '::1', securePort: 6443 })).to.equal('https://[::1]:6443');
    expect(() => defaultMaster({ bindAddress: '127.0.0.1', securePort: 'auto' }))
      .to.throw(SkiffError)
      .with.property('code', 'SKIFF_CONTROLLER_MANAGER_NO_MASTER');
  });

  it("sets up the config file's controller plugins and what they need, not the API server's", async () => {
    const config = await loadConfig(undefined);
    const names = selectedPlugins(config, controllerPlugins).plugins.map((p) => p.name);
    expect(names).to.include.members(['controller-namespace', 'controller-service-account', 'api-core-v1']);
    expect(names.filter((n) => /^(authn|authz|admission|audit|storage)-/.test(n))).to.deep.equal([]);
  });
});
