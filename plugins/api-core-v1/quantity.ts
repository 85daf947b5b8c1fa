/**
 * resource.Quantity, as far as validation and QoS need it: parse "100m", "1Gi", "2e3" into an
 * exact integer count of nano-units so that sums and comparisons are exact (request == limit).
 */
import type { FieldError } from '../../core/errors.js';
import { invalid, isObj, NON_NEGATIVE, typeInvalid } from './field.js';
import { qualifiedNameErrors } from './names.js';

const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
export const QUANTITY_MESSAGE = `quantities must match the regular expression '${QUANTITY.source}'`;

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/** Nano-units (value × 10⁹), rounded up like upstream; undefined when `v` is not a quantity. */
export function parseQuantity(v: unknown): bigint | undefined {
  const text = typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  const m = text === undefined ? null : QUANTITY.exec(text);
  if (!m) return undefined;
  const [, num, suffix] = m as unknown as [string, string, string];
  const numberMatch = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(num);
  if (!numberMatch || `${numberMatch[2]}${numberMatch[3] ?? ''}` === '') return undefined;
  const [, sign, whole, frac = ''] = numberMatch as unknown as [string, string, string, string | undefined];
  let mantissa = BigInt(`${whole}${frac}` || '0');
  let exp10 = 9 - (frac?.length ?? 0);
  let exp2 = 0;
  if (suffix in DECIMAL_SUFFIX) exp10 += DECIMAL_SUFFIX[suffix]!;
  else if (suffix in BINARY_SUFFIX) exp2 = BINARY_SUFFIX[suffix]!;
  else if (/^[eE][-+]?\d+$/.test(suffix)) exp10 += Number(suffix.slice(1));
  else return undefined;
  mantissa <<= BigInt(exp2);
  if (exp10 >= 0) mantissa *= 10n ** BigInt(exp10);
  else {
    const div = 10n ** BigInt(-exp10);
    mantissa = (mantissa + div - 1n) / div;
  }
  return sign === '-' ? -mantissa : mantissa;
}

/** A resource list ({cpu: "1", memory: "1Gi"}): names qualified, quantities valid and ≥ 0. */
export function resourceListErrors(list: unknown, field: string): FieldError[] {
  if (list === undefined || list === null) return [];
  if (!isObj(list)) return [typeInvalid(field, list, 'must be a map of resource names to quantities')];
  const out: FieldError[] = [];
  for (const [name, value] of Object.entries(list)) {
    const at = `${field}[${name}]`;
    for (const m of qualifiedNameErrors(name)) out.push(invalid(at, name, m));
    const q = parseQuantity(value);
    if (q === undefined) out.push(invalid(at, value, QUANTITY_MESSAGE));
    else if (q < 0n) out.push(invalid(at, value, NON_NEGATIVE));
  }
  return out;
}
