/**
 * Walking untyped bodies and building upstream-shaped field errors. Every accessor tolerates the
 * wrong type instead of throwing: a malformed object ends as a 422 with a field path, never a 500.
 */
import { type FieldError, labelValueErrors, qualifiedNameErrors } from 'skiff/sdk/api';

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const objOf = (v: unknown): Obj => (isObj(v) ? v : {});
export const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

export const required = (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, detail });
export const invalid = (field: string, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  value,
  detail,
});
export const typeInvalid = (field: string, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueTypeInvalid',
  field,
  value,
  detail,
});
export const notSupported = (field: string, value: unknown, supported: string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  value,
  supported,
});
export const forbidden = (field: string, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field,
  detail,
});

export const NON_NEGATIVE = 'must be greater than or equal to 0';

/** An optional int32 that may not be negative (replicas, minReadySeconds, ...). */
export function nonNegativeInt(v: unknown, field: string): FieldError[] {
  if (v === undefined || v === null) return [];
  if (!isInt(v)) return [typeInvalid(field, v, 'must be an integer')];
  return v < 0 ? [invalid(field, v, NON_NEGATIVE)] : [];
}

/** Upstream's ValidateLabels for label maps outside metadata (pod templates, matchLabels). */
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

/** Stable JSON for comparisons that must not depend on key order. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    isObj(val) ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : val,
  );
}
