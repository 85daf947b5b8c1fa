/**
 * kube-apiserver's --service-node-port-range on `skiff up` and `skiff apiserver`: the range
 * api-core-v1 allocates NodePorts from (LoadBalancer Services get theirs from it too); a value that
 * is not "first-last" is refused when the command line is read, as upstream's flag parsing does.
 */
import { expect } from 'chai';
import { Command } from 'commander';
import { addPluginFlags, pluginFlagOverlay } from '../../../core/cli/plugin-flags.js';
import { loadConfigFromObject } from '../../../core/config/load.js';
import plugin from '../../../plugins/api-core-v1/index.js';
import { api, startTestServer } from '../../helpers/server.js';

function parse(role: string, argv: string[]) {
  const command = new Command('skiff').exitOverride().configureOutput({ writeErr: () => {} });
  const declared = addPluginFlags(command, [plugin], role);
  command.parse(argv, { from: 'user' });
  return pluginFlagOverlay(declared, command.opts());
}

describe('api-core-v1: --service-node-port-range', () => {
  it('is a flag of skiff up and skiff apiserver that sets serviceNodePortRange', () => {
    for (const role of ['up', 'apiserver']) {
      expect(parse(role, ['--service-node-port-range', '31000-31010']).configure).to.deep.equal({
        'api-core-v1': { serviceNodePortRange: '31000-31010' },
      });
    }
    expect(() => parse('controller-manager', ['--service-node-port-range', '31000-31010'])).to.throw(/unknown option/);
  });

  it('refuses a range that is not first-last, naming the form', () => {
    for (const bad of ['32767-30000', '30000', '0-10', '30000-70000']) {
      expect(() => parse('up', ['--service-node-port-range', bad]), bad).to.throw(/expected a port range first-last/);
    }
  });

  it('the Services of a server given a range get their node ports from it', async () => {
    const config = await loadConfigFromObject(
      { plugins: { 'api-core-v1': { config: { serviceNodePortRange: '31000-31001' } } } },
      '(test)',
    );
    expect(config.plugins.find((p) => p.name === 'api-core-v1')!.config).to.include({
      serviceNodePortRange: '31000-31001',
    });
    const s = await startTestServer({
      plugins: { 'api-core-v1': { config: { serviceNodePortRange: '31000-31001' } } },
    });
    try {
      const ports: number[] = [];
      for (const name of ['a', 'b']) {
        const r = await api(s.url, 'POST', '/api/v1/namespaces/default/services', {
          metadata: { name },
          spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
        });
        expect(r.status).to.equal(201);
        ports.push(r.body.spec.ports[0].nodePort);
      }
      expect(ports.sort()).to.deep.equal([31000, 31001]);
      const full = await api(s.url, 'POST', '/api/v1/namespaces/default/services', {
        metadata: { name: 'c' },
        spec: { type: 'NodePort', ports: [{ port: 80 }] },
      });
      // Upstream's answer to a full range: an InternalError, not a validation failure.
      expect(full.status).to.equal(500);
      expect(full.body.message).to.equal('Internal error occurred: failed to allocate a nodePort: range is full');
    } finally {
      await s.close();
    }
  });
});
