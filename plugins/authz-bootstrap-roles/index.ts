/**
 * authz-bootstrap-roles (--authorization-mode=BootstrapRoles): what upstream's bootstrap roles let
 * the components do (the controller manager, the scheduler, nodes, kube-proxy), as data in
 * roles.yaml, in the authorization chain like any other authorizer. It allows what a role grants
 * and has no opinion otherwise. Not RBAC: the roles are read from a file at start, not served as
 * objects. See README.md.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { definePlugin } from 'skiff/sdk';
import { z } from 'zod';
import { Grants } from './grants.js';
import { loadRoles } from './load.js';

const BUILT_IN = fileURLToPath(new URL('./roles.yaml', import.meta.url));

export default definePlugin({
  name: 'authz-bootstrap-roles',
  description:
    "Allows the components (controller manager, scheduler, nodes, kube-proxy) what upstream's bootstrap roles grant them, from a roles file.",
  // Skiff's own mode: upstream's bootstrap roles for the components, from a file (not RBAC).
  authorizationMode: 'BootstrapRoles',
  config: z
    .object({
      /** Replaces the built-in roles.yaml (relative to the directory Skiff starts from). */
      rulesFile: z.string().min(1).optional(),
    })
    .strict(),
  setup(ctx) {
    const path = ctx.config.rulesFile ? resolve(ctx.config.rulesFile) : BUILT_IN;
    const file = loadRoles(path);
    const grants = new Grants(file);
    ctx.logger.info(
      { file: path, roles: Object.keys(file.roles).length, bindings: file.bindings.length },
      'bootstrap roles loaded',
    );
    ctx.provide.authorizer(
      (a) => {
        const grant = grants.allowing(a);
        if (!grant) return undefined;
        const where = grant.namespace ? ` in namespace "${grant.namespace}"` : '';
        return { decision: 'allow', reason: `BootstrapRoles: role "${grant.role}" bound to ${grant.subject}${where}` };
      },
      (user, namespace) => grants.rulesFor(user, namespace),
    );
  },
});
