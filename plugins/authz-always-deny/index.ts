/**
 * authz-always-deny: upstream's AlwaysDeny mode. As upstream's alwaysDenyAuthorizer it answers "no
 * opinion" with a reason, so an authorizer after it may still allow; at the end of the chain the
 * request is refused, and the 403 ends with the reason. See README.md.
 */
import { definePlugin } from 'skiff/sdk';

export default definePlugin({
  name: 'authz-always-deny',
  description: "Denies every request (upstream's --authorization-mode=AlwaysDeny), for testing the chain.",
  authorizationMode: 'AlwaysDeny',
  setup(ctx) {
    ctx.provide.authorizer(
      () => ({ decision: 'no-opinion', reason: 'Everything is forbidden.' }),
      () => ({ resourceRules: [], nonResourceRules: [] }),
    );
  },
});
