/**
 * authn-token-file: upstream's static token file (--token-auth-file). A request with
 * `Authorization: Bearer <token>` is the file's user for that token. See README.md.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { findBySecret, readCredentialsFile } from '../../core/auth/credentials-file.js';
import { bearerToken } from '../../core/auth/headers.js';
import { definePlugin } from '../../core/plugins/contract.js';

export default definePlugin({
  name: 'authn-token-file',
  description: 'Bearer tokens from a CSV file: token,user,uid[,"group1,group2"] (--token-auth-file).',
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
