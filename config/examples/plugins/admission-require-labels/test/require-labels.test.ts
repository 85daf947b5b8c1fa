/** The example plugin's own tests: only the SDK and the plugin, no Skiff internals. */
import { expect } from 'chai';
import { type AdmissionAttributes, isStatusError, type KubeObject } from 'skiff/sdk';
import { requireLabels } from '../index.js';

function attributes(resource: string, object: KubeObject): AdmissionAttributes {
  return {
    operation: 'CREATE',
    resource: { group: '', version: 'v1', resource },
    subresource: '',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    namespace: 'default',
    name: object.metadata.name ?? '',
    object,
    user: { name: 'alice', groups: ['system:authenticated'] },
    dryRun: false,
  };
}

describe('example plugin admission-require-labels', () => {
  const plugin = requireLabels({ resources: ['pods'], required: ['team', 'tier'], defaults: { tier: 'web' } });

  it('fills defaults in the mutating phase, then admits', async () => {
    const a = attributes('pods', { metadata: { name: 'web', labels: { team: 'blue' } } });
    await plugin.admit!(a);
    await plugin.validate!(a);
    expect(a.object!.metadata.labels).to.deep.equal({ team: 'blue', tier: 'web' });
  });

  it('refuses an object missing a required label with a 403 Status', async () => {
    const a = attributes('pods', { metadata: { name: 'web' } });
    await plugin.admit!(a);
    let refusal: unknown;
    try {
      await plugin.validate!(a);
    } catch (err) {
      refusal = err;
    }
    expect(isStatusError(refusal)).to.equal(true);
    expect((refusal as { code: number }).code).to.equal(403);
    expect((refusal as Error).message).to.equal('pods "web" is forbidden: missing required label(s): team');
  });

  it('leaves other resources, and other operations, alone', async () => {
    const a = attributes('configmaps', { metadata: { name: 'c' } });
    await plugin.admit!(a);
    await plugin.validate!(a);
    expect(a.object!.metadata.labels).to.equal(undefined);
    expect(plugin.handles!('UPDATE')).to.equal(false);
  });
});
