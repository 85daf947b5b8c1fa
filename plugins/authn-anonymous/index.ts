/**
 * authn-anonymous: requests that carry no credentials at all become system:anonymous in
 * system:unauthenticated (--anonymous-auth). Off unless listed. See README.md.
 */
import { definePlugin } from '../../core/plugins/contract.js';

export default definePlugin({
  name: 'authn-anonymous',
  description: 'Requests without credentials act as system:anonymous (group system:unauthenticated).',
  setup(ctx) {
    ctx.logger.warn('anonymous requests are enabled: requests without credentials act as system:anonymous');
    // The chain skips this answer when an earlier authenticator refused credentials the request
    // did carry: bad credentials are a 401, never a fallback to anonymous (upstream's FailOnError).
    ctx.provide.authenticator(() => ({ user: { name: 'system:anonymous', groups: ['system:unauthenticated'] } }));
  },
});
