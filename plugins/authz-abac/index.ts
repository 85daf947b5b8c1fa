/**
 * authz-abac: upstream's ABAC authorizer (--authorization-mode=ABAC, --authorization-policy-file).
 * Unlike upstream, the policy file is re-read when it changes; a new file with any unusable line is
 * not applied at all: the last good policy stays in force, the log says why, and the
 * `authz-abac-policy` check under /healthz fails until the file is fixed. Every decision names the
 * file and line that allowed it. See README.md.
 */
import { resolve } from 'node:path';
import { definePlugin } from 'skiff/sdk';
import { z } from 'zod';
import { abacCommand } from './commands.js';
import { loadPolicy } from './load.js';
import type { ParsedPolicy } from './parse.js';
import { PolicyIndex, rulesFor } from './policy.js';
import { fileVersion, watchPolicy } from './reload.js';

export default definePlugin({
  name: 'authz-abac',
  description: 'Attribute-based access control from a JSON-lines policy file (--authorization-policy-file).',
  authorizationMode: 'ABAC',
  flags: [
    {
      flag: '--authorization-policy-file <file>',
      help: 'the ABAC policy file (with --authorization-mode=ABAC)',
      toConfig: (policyFile) => ({ policyFile }),
      required: true,
    },
    {
      flag: '--abac-strict',
      help: 'unknown keys in the ABAC policy file stop start-up instead of being warned about',
      toConfig: (strict) => ({ strict: strict === true }),
    },
  ],
  commands: [{ name: 'abac', build: abacCommand }],
  config: z
    .object({
      policyFile: z.string().min(1),
      /** Unknown keys stop start-up instead of being warned about (--abac-strict). */
      strict: z.boolean().default(false),
      /** How often the file is checked for changes, in milliseconds. */
      reloadIntervalMs: z.number().int().positive().default(1000),
    })
    .strict(),
  setup(ctx) {
    const path = resolve(ctx.config.policyFile);
    const warn = (p: ParsedPolicy) => {
      for (const w of p.warnings)
        ctx.logger.warn({ file: path, line: w.line }, `ABAC policy ${path}:${w.line}: ${w.message}`);
    };
    // A broken file at start-up stops the server (SKIFF_ABAC_POLICY_INVALID), as upstream.
    const loadedVersion = fileVersion(path);
    const first = loadPolicy(path, ctx.config.strict);
    warn(first);
    let index = new PolicyIndex(first.rules);
    ctx.logger.info({ file: path, rules: index.rules.length }, 'ABAC policy loaded');

    const watcher = watchPolicy(path, loadedVersion, ctx.config, ctx.logger, (next) => {
      warn(next);
      index = new PolicyIndex(next.rules);
      ctx.logger.info({ file: path, rules: index.rules.length }, 'ABAC policy reloaded');
    });
    ctx.onClose(() => watcher.close());
    // Under /healthz only: a stale policy still authorizes correctly, so it must not fail /livez
    // (a restart would then refuse the broken file) nor /readyz (one typo would drain every server).
    ctx.provide.healthCheck('authz-abac-policy', [], () => watcher.assertCurrent());

    ctx.provide.authorizer(
      (attributes) => {
        const rule = index.firstMatch(attributes);
        // Upstream's ABAC gives the reason "No policy matched.", which its 403 then ends with; Skiff's
        // 403s under ABAC have always ended at the resource, so no reason is given (the audit log
        // still records that no authorizer had an opinion).
        if (!rule) return { decision: 'no-opinion', reason: '' };
        return { decision: 'allow', reason: `ABAC: ${path} line ${rule.line} matched: ${rule.source}` };
      },
      (user, namespace) => rulesFor(index.rules, user, namespace),
    );
  },
});
