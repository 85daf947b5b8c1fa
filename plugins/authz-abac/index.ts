/**
 * authz-abac: upstream's ABAC authorizer (--authorization-mode=ABAC, --authorization-policy-file).
 * Unlike upstream, the policy file is re-read when it changes; a broken new file keeps the old
 * policy. Every decision names the file and line that allowed it. See README.md.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { SkiffError } from '../../core/errors.js';
import { definePlugin } from '../../core/plugins/contract.js';
import { type ParsedPolicy, PolicyIndex, parsePolicy, rulesFor } from './policy.js';

function load(path: string, strict: boolean): { policy: ParsedPolicy; problem?: string } {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (err) {
    return {
      policy: { rules: [], warnings: [], errors: [] },
      problem: `cannot read ${path}: ${(err as Error).message}`,
    };
  }
  const policy = parsePolicy(content);
  const fatal = [
    ...policy.errors,
    ...(strict ? policy.warnings.filter((w) => w.message.startsWith('unknown key')) : []),
  ];
  const problem = fatal.length ? fatal.map((e) => `${path}:${e.line}: ${e.message}`).join('; ') : undefined;
  return { policy, problem };
}

export default definePlugin({
  name: 'authz-abac',
  description: 'Attribute-based access control from a JSON-lines policy file (--authorization-policy-file).',
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
    const first = load(path, ctx.config.strict);
    if (first.problem) {
      throw new SkiffError(
        'SKIFF_ABAC_POLICY_INVALID',
        first.problem,
        'fix the line (one JSON object per line; see plugins/authz-abac/README.md), or run `skiff abac lint FILE`',
      );
    }
    const report = (p: ParsedPolicy) => {
      for (const w of p.warnings)
        ctx.logger.warn({ file: path, line: w.line }, `ABAC policy ${path}:${w.line}: ${w.message}`);
    };
    report(first.policy);
    let index = new PolicyIndex(first.policy.rules);
    ctx.logger.info({ file: path, rules: index.rules.length }, 'ABAC policy loaded');

    watchFile(path, { interval: ctx.config.reloadIntervalMs }, () => {
      const next = load(path, ctx.config.strict);
      if (next.problem) {
        ctx.logger.error({ file: path }, `ABAC policy not reloaded, keeping the previous one: ${next.problem}`);
        return;
      }
      report(next.policy);
      index = new PolicyIndex(next.policy.rules);
      ctx.logger.info({ file: path, rules: index.rules.length }, 'ABAC policy reloaded');
    });
    ctx.onClose(() => unwatchFile(path));

    ctx.provide.authorizer(
      (attributes) => {
        const rule = index.firstMatch(attributes);
        if (!rule) return { decision: 'no-opinion', reason: 'No policy matched.' };
        return { decision: 'allow', reason: `ABAC: ${path} line ${rule.line} matched: ${rule.source}` };
      },
      (user, namespace) => rulesFor(index.rules, user, namespace),
    );
  },
});
