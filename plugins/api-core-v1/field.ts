/**
 * Small helpers for walking untyped request bodies and building upstream-shaped field errors.
 * Bodies arrive as arbitrary JSON, so every accessor tolerates the wrong type instead of throwing:
 * a malformed object must end as a 422 with a field path, never as a 500.
 */
import type { FieldError } from 'skiff/sdk/api';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The object at `v`, or an empty one that is not attached anywhere. */
export function objOf(v: unknown): Obj {
  return isObj(v) ? v : {};
}

/** The object at `parent[key]`, created when absent (for defaulting). Undefined when it has the wrong type. */
export function ensureObj(parent: Obj, key: string): Obj | undefined {
  if (parent[key] === undefined || parent[key] === null) parent[key] = {};
  return isObj(parent[key]) ? parent[key] : undefined;
}

export function listOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function objList(v: unknown): Obj[] {
  return listOf(v).filter(isObj);
}

export function strOf(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

export const required = (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, detail });

export const invalid = (field: string, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
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

export const duplicate = (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, value });

export const forbidden = (field: string, detail: string): FieldError => ({
  type: 'FieldValueForbidden',
  field,
  detail,
});

export const tooLong = (field: string, detail: string): FieldError => ({ type: 'FieldValueTooLong', field, detail });

export const typeInvalid = (field: string, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueTypeInvalid',
  field,
  value,
  detail,
});

/** Upstream's validation.InclusiveRangeError. */
export function rangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

export const IMMUTABLE = 'field is immutable';
export const NON_NEGATIVE = 'must be greater than or equal to 0';

/** Optional string field: a type error when present but not a string. */
export function checkString(v: unknown, field: string): FieldError[] {
  return v === undefined || v === null || typeof v === 'string' ? [] : [typeInvalid(field, v, 'must be a string')];
}

/** Optional non-negative integer field (replicas, minReadySeconds, ...). */
export function checkNonNegativeInt(v: unknown, field: string): FieldError[] {
  if (v === undefined || v === null) return [];
  if (!isInt(v)) return [typeInvalid(field, v, 'must be an integer')];
  return v < 0 ? [invalid(field, v, NON_NEGATIVE)] : [];
}

/** A value drawn from a fixed set; `supported` keeps upstream's order for the message. */
export function checkEnum(v: unknown, field: string, supported: string[], requiredValue = false): FieldError[] {
  if (v === undefined || v === null || v === '') return requiredValue ? [required(field)] : [];
  return typeof v === 'string' && supported.includes(v) ? [] : [notSupported(field, v, supported)];
}

/** Stable JSON for comparisons that must not depend on key order. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    isObj(val) ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : val,
  );
}
