/** Turning list/watch query parameters into a predicate over objects. */
import { errors } from '../../errors.js';
import {
  exactMatch,
  type FieldSelector,
  type LabelSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  validateFieldSelector,
} from '../selectors.js';
import type { KubeObject, ResourceDefinition } from '../types.js';

export interface SelectionOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface Selection {
  label: LabelSelector;
  field: FieldSelector;
  /** undefined when everything matches, so callers can skip filtering. */
  predicate?: (obj: KubeObject) => boolean;
  /** metadata.name pinned by the field selector (kubectl delete/wait use this). */
  name?: string;
}

export function fieldGetter(def: ResourceDefinition): (obj: KubeObject) => (field: string) => string | undefined {
  const custom = def.fieldSelectors ?? {};
  return (obj) => (field) => {
    if (field === 'metadata.name') return obj.metadata.name ?? '';
    if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
    return custom[field]?.(obj);
  };
}

export function supportedFields(def: ResourceDefinition): Set<string> {
  return new Set(['metadata.name', 'metadata.namespace', ...Object.keys(def.fieldSelectors ?? {})]);
}

export function selectionFor(def: ResourceDefinition, options: SelectionOptions): Selection {
  const label = parseLabelSelector(options.labelSelector ?? '');
  const field = parseFieldSelector(options.fieldSelector ?? '');
  validateFieldSelector(field, supportedFields(def));
  const getter = fieldGetter(def);
  const hasLabel = Boolean(options.labelSelector?.trim());
  const hasField = Boolean(options.fieldSelector?.trim());
  const selection: Selection = { label, field, name: exactMatch(field, 'metadata.name') };
  if (hasLabel || hasField) {
    selection.predicate = (obj) =>
      (!hasLabel || matchesLabels(label, obj.metadata.labels)) && (!hasField || matchesFields(field, getter(obj)));
  }
  return selection;
}

export function parseLimit(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw errors.badRequest(`invalid limit "${value}": must be a non-negative integer`);
  const n = Number(value);
  return n === 0 ? undefined : n;
}
