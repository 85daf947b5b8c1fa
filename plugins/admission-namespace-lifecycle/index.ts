/**
 * admission-namespace-lifecycle: upstream's NamespaceLifecycle. No new objects in a namespace that
 * does not exist or is being deleted; the system namespaces cannot be deleted. See README.md.
 */

import { type AdmissionAttributes, definePlugin, errors, forbidden, type KubeObject } from 'skiff/sdk';
import { z } from 'zod';

const IMMORTAL = ['default', 'kube-system', 'kube-public'];
const FORCE_LIVE_LOOKUP_MS = 30_000;
// Reviews are answered, never stored: asking "may I?" in a namespace that is going away is fine.
const ACCESS_REVIEWS = new Set(['localsubjectaccessreviews', 'subjectaccessreviews', 'selfsubjectaccessreviews']);

export default definePlugin<{ immortalNamespaces: string[] }>({
  name: 'admission-namespace-lifecycle',
  description:
    "Refuses new content in missing or Terminating namespaces; protects the system namespaces (upstream's NamespaceLifecycle).",
  admissionName: 'NamespaceLifecycle',
  admissionOrder: 2,
  config: z.object({ immortalNamespaces: z.array(z.string().min(1)).default(IMMORTAL) }).strict(),
  setup(ctx) {
    const objects = ctx.api.cached;
    const immortal = new Set(ctx.config.immortalNamespaces);

    // Upstream's forceLiveLookupCache: after a namespace DELETE, the cache may still show it Active
    // for a moment, so creates in it read it for sure for a while.
    const deletedLately = new Map<string, number>();
    const deletedJustNow = (name: string) => {
      const until = deletedLately.get(name);
      if (until === undefined) return false;
      if (until >= Date.now()) return true;
      deletedLately.delete(name);
      return false;
    };

    function admit(a: AdmissionAttributes): Promise<void> | undefined {
      const isNamespace = a.resource.group === '' && a.resource.resource === 'namespaces';
      if (isNamespace) {
        if (a.operation === 'DELETE' && immortal.has(a.name)) throw forbidden(a, 'this namespace may not be deleted');
        if (a.operation === 'DELETE') deletedLately.set(a.name, Date.now() + FORCE_LIVE_LOOKUP_MS);
        return undefined;
      }
      // Deleting is always allowed: it is how a Terminating namespace gets emptied.
      if (!a.namespace || a.operation === 'DELETE' || ACCESS_REVIEWS.has(a.resource.resource)) return undefined;
      // As upstream: the cache first; a live lookup when it does not have the namespace (created a
      // moment ago) or it may be stale (deleted a moment ago).
      const cached = objects.peek('', 'v1', 'namespaces', '', a.namespace);
      const stale = cached !== undefined && phaseOf(cached) !== 'Terminating' && deletedJustNow(a.namespace);
      if (cached && !stale) return check(a, cached);
      return objects.get('', 'v1', 'namespaces', '', a.namespace).then((namespace) => check(a, namespace));
    }

    // Mutating phase (as upstream), so a doomed request is refused before other plugins do work.
    ctx.provide.admission({ name: 'NamespaceLifecycle', admit });
  },
});

function phaseOf(namespace: KubeObject): string | undefined {
  return (namespace.status as { phase?: string } | undefined)?.phase;
}

function check(a: AdmissionAttributes, namespace: KubeObject | undefined): undefined {
  if (!namespace) throw errors.notFound({ group: '', resource: 'namespaces' }, a.namespace);
  if (a.operation !== 'CREATE' || phaseOf(namespace) !== 'Terminating') return undefined;
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
