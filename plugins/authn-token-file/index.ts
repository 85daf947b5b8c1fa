/**
 * authn-token-file: upstream's static token file (--token-auth-file). A request with
 * `Authorization: Bearer <token>` is the file's user for that token. See README.md.
 */
import { resolve } from 'node:path';
import { definePlugin } from 'skiff/sdk';
import { bearerToken, findBySecret, readCredentialsFile } from 'skiff/sdk/auth';
import { z } from 'zod';

export default definePlugin({
  name: 'authn-token-file',
  description: 'Bearer tokens from a CSV file: token,user,uid[,"group1,group2"] (--token-auth-file).',
  flags: [
    {
      flag: '--token-auth-file <file>',
      help: 'static bearer tokens, CSV (turns on authn-token-file)',
      toConfig: (file) => ({ tokenAuthFile: file }),
      enables: true,
    },
  ],
  config: z.object({ tokenAuthFile: z.string().min(1) }).strict(),
  setup(ctx) {
    const path = resolve(ctx.config.tokenAuthFile);
    const { records, warnings } = readCredentialsFile(path, 'token', '--token-auth-file');
    for (const w of warnings) ctx.logger.warn(w);
    ctx.logger.info({ file: path, tokens: records.length }, 'token file loaded');
    ctx.provide.authenticator((request) => {
      const token = bearerToken(request.headers);
      if (token === undefined) return undefined;
      const found = findBySecret(records, token);
      return found ? { user: found.user } : { error: 'invalid bearer token' };
    });
  },
});
