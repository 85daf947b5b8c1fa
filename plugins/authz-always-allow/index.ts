/** authz-always-allow: upstream's AlwaysAllow mode, every request is allowed. See README.md. */
import { definePlugin } from 'skiff/sdk';

export default definePlugin({
  name: 'authz-always-allow',
  description: "Allows every request (upstream's --authorization-mode=AlwaysAllow).",
  authorizationMode: 'AlwaysAllow',
  setup(ctx) {
    ctx.logger.warn('authorization mode AlwaysAllow: every authenticated request is allowed');
    ctx.provide.authorizer(
      () => ({ decision: 'allow', reason: 'AlwaysAllow allows every request' }),
      () => ({
        resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
      }),
    );
  },
});
