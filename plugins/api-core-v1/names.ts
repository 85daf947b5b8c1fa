/**
 * Name and identifier validators with upstream's messages (k8s.io/apimachinery/pkg/util/validation).
 * The DNS-1123 label/subdomain and qualified-name checks are core's, since the generic store applies
 * them to every kind (skiff/sdk/api exports them); they are re-exported here so kinds import one
 * place. The rest are only needed by the built-in kinds.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { type FieldError, labelValueErrors, qualifiedNameErrors } from 'skiff/sdk/api';
import { invalid, isObj, typeInvalid } from './field.js';

export {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  labelValueErrors,
  pathSegmentErrors,
  qualifiedNameErrors,
} from 'skiff/sdk/api';

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

/** Service names: upstream's NameIsDNS1035Label (must start with a letter). */
export function dns1035LabelErrors(value: string): string[] {
  const out: string[] = [];
  if (value.length > 63) out.push('must be no more than 63 characters');
  if (!DNS1035_LABEL.test(value)) {
    out.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return out;
}

/** Container and service port names: an IANA_SVC_NAME. */
export function portNameErrors(value: string): string[] {
  const out: string[] = [];
  if (value.length > 15) out.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(value)) out.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(value)) out.push('must contain at least one letter (a-z)');
  if (value.includes('--')) out.push('must not contain consecutive hyphens');
  if (value.startsWith('-') || value.endsWith('-')) out.push('must not begin or end with a hyphen');
  return out;
}

/** Keys of ConfigMap and Secret data. */
export function configKeyErrors(value: string): string[] {
  const out: string[] = [];
  if (value.length > 253) out.push('must be no more than 253 characters');
  if (!CONFIG_KEY.test(value)) {
    out.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  }
  if (value === '.') out.push("must not be '.'");
  else if (value === '..') out.push("must not be '..'");
  else if (value.startsWith('..')) out.push("must not start with '..'");
  return out;
}

/** Finalizers in a namespace's spec: qualified, or one of the standard names. */
export function finalizerNameErrors(value: string): string[] {
  const out = qualifiedNameErrors(value);
  if (!value.includes('/') && !STANDARD_FINALIZERS.has(value)) {
    out.push('name is neither a standard finalizer name nor is it fully qualified');
  }
  return out;
}

export function ipErrors(value: string): string[] {
  return isIPv4(value) || isIPv6(value) ? [] : ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'];
}

export function cidrErrors(value: string): string[] {
  const [ip, bits, extra] = value.split('/');
  const max = isIPv4(ip ?? '') ? 32 : isIPv6(ip ?? '') ? 128 : -1;
  const ok = max > 0 && extra === undefined && /^\d{1,3}$/.test(bits ?? '') && Number(bits) <= max;
  return ok ? [] : ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'];
}

/** A required name-like field checked with `check`. */
export function nameAt(field: string, value: unknown, check: (v: string) => string[]): FieldError[] {
  if (value === undefined || value === null || value === '') return [{ type: 'FieldValueRequired', field, detail: '' }];
  if (typeof value !== 'string') return [typeInvalid(field, value, 'must be a string')];
  return check(value).map((m) => invalid(field, value, m));
}

/** Upstream's ValidateLabels, for label maps outside metadata (selectors, pod templates). */
export function labelMapErrors(labels: unknown, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (!isObj(labels)) return [typeInvalid(field, labels, 'must be a map of strings')];
  const out: FieldError[] = [];
  for (const [k, v] of Object.entries(labels)) {
    for (const m of qualifiedNameErrors(k)) out.push(invalid(field, k, m));
    if (typeof v !== 'string') out.push(typeInvalid(field, v, 'label values must be strings'));
    else for (const m of labelValueErrors(v)) out.push(invalid(field, v, m));
  }
  return out;
}
