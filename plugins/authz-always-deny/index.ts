/** authz-always-deny: upstream's AlwaysDeny mode, every request is denied. See README.md. */
import { definePlugin } from '../../core/plugins/contract.js';

export default definePlugin({
  name: 'authz-always-deny',
  description: "Denies every request (upstream's --authorization-mode=AlwaysDeny), for testing the chain.",
  setup(ctx) {
    ctx.provide.authorizer(
      () => ({ decision: 'deny', reason: 'Everything is forbidden.' }),
      () => ({ resourceRules: [], nonResourceRules: [] }),
    );
  },
});
