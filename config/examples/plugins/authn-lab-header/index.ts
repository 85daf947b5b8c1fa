/**
 * authn-lab-header: FOR TRAINING LABS ONLY. A request with `X-Lab-User: alice` (and `X-Lab-Groups:
 * students,team-a`) is alice: anyone who can reach the port can claim any user. See README.md.
 */
import { definePlugin, z } from 'skiff/sdk';

const configSchema = z.strictObject({
  userHeader: z.string().min(1).default('X-Lab-User'),
  groupsHeader: z.string().min(1).default('X-Lab-Groups'),
});

export default definePlugin<z.infer<typeof configSchema>>({
  name: 'authn-lab-header',
  description: 'TRAINING LABS ONLY: a request header names the user; whoever reaches the port can be anyone.',
  config: configSchema,
  setup(ctx) {
    const { userHeader, groupsHeader } = ctx.config;
    ctx.logger.warn(`any client can claim any user with ${userHeader}: use this in a training lab only`);
    ctx.provide.authenticator(({ headers }) => {
      const name = headers[userHeader.toLowerCase()];
      if (typeof name !== 'string' || name === '') return undefined; // not ours: the next authenticator tries
      const groups = `${headers[groupsHeader.toLowerCase()] ?? ''}`.split(',').flatMap((g) => g.trim() || []);
      // The cluster's own identities (system:masters, system:nodes, ...) are never granted by a header.
      if ([name, ...groups].some((n) => n.startsWith('system:'))) {
        return { error: `${userHeader}/${groupsHeader} may not name system: users or groups` };
      }
      return { user: { name, groups } };
    });
  },
});
