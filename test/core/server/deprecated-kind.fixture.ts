/**
 * A test-only plugin (loaded by path from warnings.test.ts): a kind served in a deprecated version,
 * the way upstream still served extensions/v1beta1 Deployments in 1.15, and one whose deprecation
 * lies in a release after the server's, which must not warn yet.
 */
import type { ResourceDefinition } from '../../../core/api/types.js';
import { definePlugin } from '../../../core/plugins/contract.js';

const kind = (name: string, deprecated: ResourceDefinition['deprecated']): ResourceDefinition => ({
  group: 'widgets.example.com',
  version: 'v1beta1',
  kind: name,
  plural: `${name.toLowerCase()}s`,
  singular: name.toLowerCase(),
  namespaced: true,
  hasStatus: true,
  deprecated,
});

export default definePlugin({
  name: 'test-deprecated-kind',
  description: 'Serves widgets.example.com/v1beta1 Widget (deprecated) and Gadget (deprecated only from 1.99).',
  setup(ctx) {
    ctx.provide.resource(
      kind('Widget', {
        since: '1.16',
        removedIn: '1.40',
        replacement: { group: 'widgets.example.com', version: 'v1', kind: 'Widget' },
      }),
    );
    ctx.provide.resource(kind('Gadget', { since: '1.99' }));
  },
});
