/**
 * authn-anonymous: requests that carry no credentials at all become system:anonymous in
 * system:unauthenticated (--anonymous-auth). Off unless listed. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { bool } from 'skiff/sdk/cli';

export default definePlugin({
  name: 'authn-anonymous',
  description: 'Requests without credentials act as system:anonymous (group system:unauthenticated).',
  flags: [
    {
      flag: '--anonymous-auth <bool>',
      help: 'requests without credentials act as system:anonymous (default: false)',
      parse: bool,
      toConfig: () => ({}),
      // As upstream: true turns anonymous requests on, false off, whatever the config file says.
      enables: true,
      disables: (on) => on === false,
    },
  ],
  setup(ctx) {
    ctx.logger.warn('anonymous requests are enabled: requests without credentials act as system:anonymous');
    // The chain keeps this answer for last, wherever the plugin is listed, and drops it when the
    // request carried credentials that failed (a refusal, or a bearer token nobody recognised): bad
    // credentials are a 401, never a fallback to anonymous (upstream's FailOnError union).
    ctx.provide.authenticator(() => ({ user: { name: 'system:anonymous', groups: ['system:unauthenticated'] } }));
  },
});
