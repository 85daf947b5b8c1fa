/**
 * Validation every kind shares: object names, labels, annotations. Messages are upstream's
 * (k8s.io/apimachinery/pkg/util/validation) so error output matches a real cluster.
 */
import type { FieldError } from '../errors.js';
import type { ObjectMeta } from './types.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const TOTAL_ANNOTATION_BYTES = 256 * 1024;

export function dns1123LabelErrors(value: string): string[] {
  const out: string[] = [];
  if (value.length > 63) out.push('must be no more than 63 characters');
  if (!DNS1123_LABEL.test(value)) {
    out.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return out;
}

export function dns1123SubdomainErrors(value: string): string[] {
  const out: string[] = [];
  if (value.length > 253) out.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value)) {
    out.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
  return out;
}

/** Upstream's path-segment rule, which every name must pass whatever its kind's own rule. */
export function pathSegmentErrors(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  for (const bad of ['/', '%']) if (value.includes(bad)) return [`may not contain '${bad}'`];
  return [];
}

export function qualifiedNameErrors(key: string): string[] {
  const parts = key.split('/');
  let name = key;
  const out: string[] = [];
  if (parts.length === 2) {
    const [prefix, n] = parts as [string, string];
    name = n;
    if (!prefix) out.push('prefix part must be non-empty');
    else for (const e of dns1123SubdomainErrors(prefix)) out.push(`prefix part ${e}`);
  } else if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (!name) out.push('name part must be non-empty');
  else if (name.length > 63) out.push('name part must be no more than 63 characters');
  if (name && !QUALIFIED_NAME.test(name)) {
    out.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  }
  return out;
}

export function labelValueErrors(value: string): string[] {
  const out: string[] = [];
  if (value.length > 63) out.push('must be no more than 63 characters');
  if (!LABEL_VALUE.test(value)) {
    out.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
  }
  return out;
}

export type NameRule = 'subdomain' | 'label' | 'path-segment';

/** metadata checks shared by every kind: name rule, labels, annotations, generateName. */
export function validateObjectMeta(meta: ObjectMeta, nameRule: NameRule, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const name = meta.name ?? '';
  if (!name) {
    errs.push({ type: 'FieldValueRequired', field: 'metadata.name', detail: 'name or generateName is required' });
  } else {
    const rule =
      nameRule === 'label' ? dns1123LabelErrors : nameRule === 'subdomain' ? dns1123SubdomainErrors : () => [];
    for (const detail of [...pathSegmentErrors(name), ...rule(name)]) {
      errs.push({ type: 'FieldValueInvalid', field: 'metadata.name', value: name, detail });
    }
  }
  if (namespaced && !meta.namespace) {
    errs.push({ type: 'FieldValueRequired', field: 'metadata.namespace', detail: '' });
  }
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    for (const detail of qualifiedNameErrors(k)) {
      errs.push({ type: 'FieldValueInvalid', field: 'metadata.labels', value: k, detail });
    }
    if (typeof v !== 'string') {
      errs.push({
        type: 'FieldValueTypeInvalid',
        field: `metadata.labels`,
        value: v,
        detail: 'label values must be strings',
      });
      continue;
    }
    for (const detail of labelValueErrors(v)) {
      errs.push({ type: 'FieldValueInvalid', field: `metadata.labels`, value: v, detail });
    }
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    for (const detail of qualifiedNameErrors(k.toLowerCase())) {
      errs.push({ type: 'FieldValueInvalid', field: 'metadata.annotations', value: k, detail });
    }
    annotationBytes += k.length + String(v).length;
  }
  if (annotationBytes > TOTAL_ANNOTATION_BYTES) {
    errs.push({
      type: 'FieldValueTooLong',
      field: 'metadata.annotations',
      detail: `must have at most ${TOTAL_ANNOTATION_BYTES} bytes`,
    });
  }
  return errs;
}
