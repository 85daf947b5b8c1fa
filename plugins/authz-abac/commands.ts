/**
 * `skiff abac check` and `skiff abac lint`: ABAC policy files offline, for training. They use this
 * plugin's own parser and matcher, so what they say is what the server does.
 */
import type { AuthorizationAttributes } from 'skiff/sdk/auth';
import { Command, InvalidArgumentError } from 'skiff/sdk/cli';
import { isNamespaceName, lint } from './lint.js';
import { loadPolicy, policyProblems, readPolicyText } from './load.js';
import { firstMatch, parsePolicy } from './policy.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const STRICT = 'as --abac-strict: unknown keys are errors';

interface CheckOptions {
  policy: string;
  user: string;
  group: string[];
  verb: string;
  resource?: string;
  apiGroup: string;
  namespace: string;
  path?: string;
  strict?: boolean;
}

export function abacCommand(): Command {
  const abac = new Command('abac').description('ABAC policy files, offline: check a request, lint a file');
  abac
    .command('check')
    .description('would this request be allowed? prints allow or no-opinion and the deciding line')
    .requiredOption('--policy <file>', 'the policy file (one JSON object per line)')
    .requiredOption('--user <name>', 'the user name')
    .option('--group <name>', 'a group of the user; repeat for more (system:authenticated is added)', collect, [])
    .requiredOption('--verb <verb>', 'get, list, watch, create, update, patch, delete, ...')
    .option('--resource <resource>', 'the resource (plural, e.g. pods)')
    .option('--api-group <group>', 'the resource API group ("" is core)', '')
    .option('--namespace <ns>', 'the namespace ("" for cluster-scoped)', '')
    .option('--path <path>', 'a non-resource path, e.g. /healthz (instead of --resource)')
    .option('--strict', STRICT)
    .action((opts: CheckOptions) => {
      if (Boolean(opts.resource) === Boolean(opts.path)) {
        throw new InvalidArgumentError('give exactly one of --resource and --path');
      }
      // A file the server would refuse is not evaluated: the answer would be about a policy that never runs.
      const policy = loadPolicy(opts.policy, opts.strict === true);
      const a: AuthorizationAttributes = {
        user: { name: opts.user, groups: [...opts.group, 'system:authenticated'] },
        verb: opts.verb,
        resourceRequest: Boolean(opts.resource),
        namespace: opts.namespace,
        apiGroup: opts.apiGroup,
        apiVersion: '',
        resource: opts.resource ?? '',
        subresource: '',
        name: '',
        path: opts.path ?? '',
      };
      const rule = firstMatch(policy.rules, a);
      const out = rule
        ? [`allow: line ${rule.line}: ${rule.source}`]
        : ['no-opinion: no line matched (the next authorizer decides; at the end of the chain, 403)'];
      for (const w of policy.warnings) out.push(`warning: line ${w.line}: ${w.message}`);
      if (opts.namespace && !isNamespaceName(opts.namespace)) {
        out.push(
          `warning: --namespace ${opts.namespace} is not a valid namespace name: no namespace can be called that`,
        );
      }
      process.stdout.write(`${out.join('\n')}\n`);
    });
  abac
    .command('lint')
    .description(
      'report lines the server refuses (exit 1), unknown keys, shadowed lines and rules wider than they look',
    )
    .argument('<file>', 'the policy file')
    .option('--strict', STRICT)
    .action((file: string, opts: { strict?: boolean }) => {
      const policy = parsePolicy(readPolicyText(file));
      const findings = lint(policy, opts.strict === true);
      process.stdout.write(`${findings.length ? findings.join('\n') : 'no findings'}\n`);
      const errors = policyProblems(policy, opts.strict === true).length;
      if (errors) {
        process.stdout.write(`${errors} error(s): the server refuses to load this file until they are fixed\n`);
        process.exitCode = 1;
      }
    });
  return abac;
}
