/**
 * fieldValidation: finding the fields of a request body that the kind's schema does not have (a
 * typo like `imagee`), with upstream's paths (`spec.containers[0].imagee`). Strict refuses them,
 * Warn (the default) drops them and says so in a Warning header, Ignore drops them silently.
 */
import { errors } from '../errors.js';
import { type MessageSchema, message, OPAQUE_TYPES as OPAQUE } from './schema.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const v = query.get('fieldValidation') ?? 'Warn';
  if (v !== 'Strict' && v !== 'Warn' && v !== 'Ignore') {
    throw errors.badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${v}"`);
  }
  return v;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every known field name of a message, inline messages' fields included. */
function knownFields(schema: MessageSchema): Map<string, { type: string; repeated: boolean; map: boolean }> {
  const out = new Map<string, { type: string; repeated: boolean; map: boolean }>();
  for (const f of schema.fields) {
    if (f.inline) {
      const inner = message(f.type);
      if (inner) for (const [k, v] of knownFields(inner)) out.set(k, v);
    } else out.set(f.name, { type: f.type, repeated: f.repeated, map: f.map });
  }
  return out;
}

const cache = new Map<string, ReturnType<typeof knownFields>>();
function fieldsOf(type: string) {
  let f = cache.get(type);
  if (!f) {
    const schema = message(type);
    if (!schema || schema.wrapper) return undefined;
    f = knownFields(schema);
    cache.set(type, f);
  }
  return f;
}

/**
 * Removes the unknown fields of `obj` (a message of `type`) and returns their paths. The top level
 * also knows apiVersion and kind.
 */
export function dropUnknownFields(obj: Obj, type: string, top = true, itemLabel: ItemLabel = byIndex): string[] {
  const found: string[] = [];
  dropUnknownIn(obj, type, '', top, found, itemLabel);
  return found;
}

/** How a list item shows in a path: `[0]` by default; server-side apply names keyed items by key. */
export type ItemLabel = (listPath: string, item: unknown, index: number) => string;
const byIndex: ItemLabel = (_path, _item, index) => `[${index}]`;

// A function of its own, not a closure made per call: under tsx every closure made gets its name set.
function dropUnknownIn(
  value: unknown,
  t: string,
  path: string,
  top: boolean,
  found: string[],
  itemLabel: ItemLabel,
): void {
  if (OPAQUE.has(t) || !t.includes('.') || !isObj(value)) return;
  const fields = fieldsOf(t);
  if (!fields) return;
  for (const key of Object.keys(value)) {
    const f = fields.get(key);
    const at = path ? `${path}.${key}` : key;
    if (!f) {
      if (top && path === '' && (key === 'apiVersion' || key === 'kind')) continue;
      found.push(at);
      delete value[key];
      continue;
    }
    const v = value[key];
    if (f.map && isObj(v))
      for (const [k, item] of Object.entries(v)) dropUnknownIn(item, f.type, `${at}[${k}]`, top, found, itemLabel);
    else if (f.repeated && Array.isArray(v)) {
      for (let i = 0; i < v.length; i++)
        dropUnknownIn(v[i], f.type, `${at}${itemLabel(at, v[i], i)}`, top, found, itemLabel);
    } else dropUnknownIn(v, f.type, at, top, found, itemLabel);
  }
}
