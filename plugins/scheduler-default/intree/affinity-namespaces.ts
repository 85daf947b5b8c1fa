/** Namespaces of inter-pod affinity terms, as upstream resolves them from the namespace lister. */
import type { InternalHandle } from '../framework/handle.js';
import type { AffinityTerm } from '../model/pod-info.js';
import { type Labels, NOTHING } from '../model/selectors.js';

/** The namespaces a term's namespaceSelector selects, folded into its namespace list (upstream's merge). */
export function mergeNamespaces(term: AffinityTerm, handle: InternalHandle): AffinityTerm {
  if (term.namespaceSelector.empty || term.namespaceSelector.nothing) return term;
  const namespaces = new Set(term.namespaces);
  for (const ns of handle.listers.list('namespaces')) {
    if (term.namespaceSelector.matches((ns.metadata.labels as Labels | undefined) ?? {}))
      namespaces.add(ns.metadata.name ?? '');
  }
  return { ...term, namespaces, namespaceSelector: NOTHING };
}

export function namespaceLabels(handle: InternalHandle, namespace: string): Labels | undefined {
  return handle.listers.get('namespaces', '', namespace)?.metadata.labels as Labels | undefined;
}
