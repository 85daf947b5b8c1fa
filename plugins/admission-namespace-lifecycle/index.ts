/**
 * admission-namespace-lifecycle: upstream's NamespaceLifecycle. No new objects in a namespace that
 * does not exist or is being deleted; the system namespaces cannot be deleted. See README.md.
 */
import { z } from 'zod';
import { type AdmissionAttributes, cachedObjects, definePlugin, errors, forbidden } from '../../core/sdk.js';

const IMMORTAL = ['default', 'kube-system', 'kube-public'];
// Reviews are answered, never stored: asking "may I?" in a namespace that is going away is fine.
const ACCESS_REVIEWS = new Set(['localsubjectaccessreviews', 'subjectaccessreviews', 'selfsubjectaccessreviews']);

export default definePlugin<{ immortalNamespaces: string[] }>({
  name: 'admission-namespace-lifecycle',
  description:
    "Refuses new content in missing or Terminating namespaces; protects the system namespaces (upstream's NamespaceLifecycle).",
  config: z.object({ immortalNamespaces: z.array(z.string().min(1)).default(IMMORTAL) }).strict(),
  setup(ctx) {
    const objects = cachedObjects(ctx);
    const immortal = new Set(ctx.config.immortalNamespaces);

    async function admit(a: AdmissionAttributes): Promise<void> {
      const isNamespace = a.resource.group === '' && a.resource.resource === 'namespaces';
      if (isNamespace) {
        if (a.operation === 'DELETE' && immortal.has(a.name)) throw forbidden(a, 'this namespace may not be deleted');
        return;
      }
      // Deleting is always allowed: it is how a Terminating namespace gets emptied.
      if (!a.namespace || a.operation === 'DELETE' || ACCESS_REVIEWS.has(a.resource.resource)) return;
      const namespace = await objects.get('', 'v1', 'namespaces', '', a.namespace);
      if (!namespace) throw errors.notFound({ group: '', resource: 'namespaces' }, a.namespace);
      const phase = (namespace.status as { phase?: string } | undefined)?.phase;
      if (a.operation !== 'CREATE' || phase !== 'Terminating') return;
      const refusal = forbidden(
        a,
        `unable to create new content in namespace ${a.namespace} because it is being terminated`,
      );
      refusal.details!.causes = [
        {
          reason: 'NamespaceTerminating',
          message: `namespace ${a.namespace} is being terminated`,
          field: 'metadata.namespace',
        },
      ];
      throw refusal;
    }

    // Mutating phase (as upstream), so a doomed request is refused before other plugins do work.
    ctx.provide.admission({ name: 'NamespaceLifecycle', admit });
  },
});
