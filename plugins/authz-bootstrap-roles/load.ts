/**
 * Reading a roles file (YAML: `roles` and `bindings`, see roles.yaml), all or nothing: a key it does
 * not know, a rule that mixes resources with URLs, or a binding to a missing role stops start-up.
 * A typo in an authorization file must never quietly widen or narrow what someone may do.
 */
import { readFileSync } from 'node:fs';
import { SkiffError } from 'skiff/sdk';
import { parse } from 'yaml';
import { type ZodError, z } from 'zod';

export const ROLES_INVALID = 'SKIFF_BOOTSTRAP_ROLES_INVALID';

const someNames = z.array(z.string().min(1)).min(1);

const ruleSchema = z
  .object({
    verbs: someNames,
    /** '' is the core group. */
    apiGroups: z.array(z.string()).min(1).optional(),
    resources: someNames.optional(),
    resourceNames: someNames.optional(),
    nonResourceURLs: someNames.optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const resourceRule = rule.apiGroups !== undefined || rule.resources !== undefined;
    if (resourceRule && rule.nonResourceURLs) {
      ctx.addIssue({ code: 'custom', message: 'a rule has either apiGroups and resources, or nonResourceURLs' });
    } else if (resourceRule && !(rule.apiGroups && rule.resources)) {
      ctx.addIssue({ code: 'custom', message: 'a resource rule needs both apiGroups and resources' });
    } else if (!resourceRule && !rule.nonResourceURLs) {
      ctx.addIssue({ code: 'custom', message: 'a rule needs apiGroups and resources, or nonResourceURLs' });
    } else if (rule.resourceNames && !resourceRule) {
      ctx.addIssue({ code: 'custom', message: 'resourceNames only go with resources' });
    }
  });

const bindingSchema = z
  .object({
    role: z.string().min(1),
    /** Set: a RoleBinding, whose rules hold only in this namespace. */
    namespace: z.string().min(1).optional(),
    users: someNames.optional(),
    groups: someNames.optional(),
    /** namespace/name */
    serviceAccounts: z
      .array(z.string().regex(/^[^/]+\/[^/]+$/, 'expected namespace/name'))
      .min(1)
      .optional(),
  })
  .strict()
  .refine((b) => b.users || b.groups || b.serviceAccounts, {
    message: 'a binding needs users, groups or serviceAccounts',
  });

const fileSchema = z
  .object({
    roles: z.record(z.string().min(1), z.array(ruleSchema).min(1)),
    bindings: z.array(bindingSchema),
  })
  .strict();

export type RoleRule = z.infer<typeof ruleSchema>;
export type RoleBinding = z.infer<typeof bindingSchema>;
export type RolesFile = z.infer<typeof fileSchema>;

function invalid(path: string, problem: string): SkiffError {
  return new SkiffError(
    ROLES_INVALID,
    `cannot load the bootstrap roles file ${path}: ${problem}`,
    'correct it (plugins/authz-bootstrap-roles/README.md describes the format; the built-in roles.yaml is a complete example)',
  );
}

const describe = (err: ZodError) =>
  err.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
    .join('; ');

/** Cross-checks the schema cannot make: every binding's role exists and fits its scope. */
function checkBindings(path: string, file: RolesFile): void {
  file.bindings.forEach((b, i) => {
    const rules = file.roles[b.role];
    if (!rules) throw invalid(path, `bindings.${i}.role: no role "${b.role}" in roles`);
    if (b.namespace && rules.some((r) => r.nonResourceURLs)) {
      throw invalid(
        path,
        `bindings.${i}: role "${b.role}" has nonResourceURLs, which a namespaced binding cannot grant`,
      );
    }
  });
}

export function loadRoles(path: string): RolesFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SkiffError(
      ROLES_INVALID,
      `cannot read the bootstrap roles file ${path}: ${(err as Error).message}`,
      'check the path (rulesFile, relative to the directory you start from) and its permissions',
    );
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw invalid(path, `not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) throw invalid(path, describe(parsed.error));
  checkBindings(path, parsed.data);
  return parsed.data;
}
