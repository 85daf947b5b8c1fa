/**
 * Loading a policy file, all or nothing: the server at start-up and on reload, and `skiff abac check`,
 * go through here, so they refuse the same files with the same message. Upstream refuses a file with
 * any line it cannot decode ("error reading policy file F, line N: ..."); so does Skiff, listing
 * every such line, and with `strict` (`--abac-strict`) unknown keys too.
 */
import { readFileSync } from 'node:fs';
import { SkiffError } from 'skiff/sdk';
import { type ParsedPolicy, type PolicyError, parsePolicy } from './parse.js';

export const POLICY_INVALID = 'SKIFF_ABAC_POLICY_INVALID';

/** What makes the file unusable: its errors, and its unknown keys when strict. */
export function policyProblems(policy: ParsedPolicy, strict: boolean): PolicyError[] {
  const unknownKeys = strict
    ? policy.warnings
        .filter((w) => w.unknownKey)
        .map((w) => ({
          line: w.line,
          message: `${w.message} (refused with --abac-strict)`,
          fix: 'correct or remove the key (upstream ignores unknown keys; strict mode refuses them)',
        }))
    : [];
  return [...policy.errors, ...unknownKeys].sort((a, b) => a.line - b.line);
}

/** One error naming the file, every bad line, and how to fix the first of them. */
export function policyError(path: string, problems: PolicyError[]): SkiffError {
  const first = problems[0]!;
  const lines = problems.map((p) => `${path}:${p.line}: ${p.message}`).join('; ');
  const more =
    problems.length > 1 ? ` (${problems.length} lines have problems: \`skiff abac lint ${path}\` lists them)` : '';
  return new SkiffError(
    POLICY_INVALID,
    `cannot load the ABAC policy file ${path}: ${lines}`,
    `line ${first.line}: ${first.fix}${more}; see plugins/authz-abac/README.md`,
  );
}

export function readPolicyText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SkiffError(
      POLICY_INVALID,
      `cannot read the ABAC policy file ${path}: ${(err as Error).message}`,
      'check the path (--authorization-policy-file, relative to the directory you start from) and its permissions',
    );
  }
}

/** The file's policy, or a SkiffError when any line is unusable: never a part of the file. */
export function loadPolicy(path: string, strict: boolean): ParsedPolicy {
  const policy = parsePolicy(readPolicyText(path));
  const problems = policyProblems(policy, strict);
  if (problems.length) throw policyError(path, problems);
  return policy;
}
