/**
 * authn-basic-file: HTTP basic auth from a CSV password file (--basic-auth-file). Upstream removed
 * it in 1.19; Skiff keeps it for teaching the seed's section 3.6.1 and warns at start. See README.md.
 */
import { resolve } from 'node:path';
import { definePlugin } from 'skiff/sdk';
import { authorizationScheme, basicCredentials, readCredentialsFile, secretsEqual } from 'skiff/sdk/auth';
import { z } from 'zod';

const MALFORMED = 'malformed basic credentials: expected base64 of user:password';

export default definePlugin({
  name: 'authn-basic-file',
  description: 'HTTP basic auth from a CSV file: password,user,uid[,"group1,group2"] (--basic-auth-file).',
  flags: [
    {
      flag: '--basic-auth-file <file>',
      help: 'static passwords, CSV; removed upstream in 1.19 (turns on authn-basic-file)',
      toConfig: (file) => ({ basicAuthFile: file }),
      enables: true,
    },
  ],
  config: z.object({ basicAuthFile: z.string().min(1) }).strict(),
  setup(ctx) {
    const path = resolve(ctx.config.basicAuthFile);
    const { records, warnings } = readCredentialsFile(path, 'password', '--basic-auth-file');
    for (const w of warnings) ctx.logger.warn(w);
    ctx.logger.warn(
      { file: path },
      'basic authentication is enabled: upstream Kubernetes removed --basic-auth-file in 1.19; passwords travel with every request, use it for training only',
    );
    // 401 answers then invite basic credentials, as upstream's did.
    ctx.provide.authChallenge('Basic realm="kubernetes-master"');
    // Later records win, as upstream's map assignment does.
    const byUser = new Map(records.map((r) => [r.user.name, r]));
    ctx.provide.authenticator((request) => {
      const given = basicCredentials(request.headers);
      // Basic credentials this authenticator cannot even read are refused, never left to anonymous.
      if (!given) return authorizationScheme(request.headers) === 'basic' ? { error: MALFORMED } : undefined;
      const record = byUser.get(given.user);
      // Compare even for unknown users, so timing does not reveal which user names exist.
      const ok = secretsEqual(given.password, record?.secret ?? '\u0000no-such-user');
      return record && ok ? { user: record.user } : { error: 'invalid username/password combination' };
    });
  },
});
