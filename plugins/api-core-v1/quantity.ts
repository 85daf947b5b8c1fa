/** Validation of resource lists; the Quantity arithmetic itself is core/api/quantity.ts. */
import { type FieldError, parseQuantity, QUANTITY_PATTERN } from 'skiff/sdk/api';
import { invalid, isObj, NON_NEGATIVE, typeInvalid } from './field.js';
import { qualifiedNameErrors } from './names.js';

export const QUANTITY_MESSAGE = `quantities must match the regular expression '${QUANTITY_PATTERN}'`;

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

export { parseQuantity };
