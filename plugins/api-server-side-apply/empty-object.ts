/**
 * What a create is compared against. Upstream's field manager compares the new object with an empty
 * one of its type (`New()`) as JSON, in which every struct field is an empty object and every list,
 * map or pointer without `omitempty` is null: those already exist, so a create owns
 * `f:spec.f:containers` without a `.` entry, while `f:ports` (omitempty, so absent) gets one, as
 * `kubectl get --show-managed-fields` shows upstream. Built once per kind from the API schema.
 */
import { type MessageSchema, message, messageForKind, OPAQUE_TYPES, SCALARS } from 'skiff/sdk/wire';
import type { JsonObject } from './field-set.js';

const built = new Map<string, JsonObject | undefined>();

/** The empty object of a built-in kind (frozen, shared); undefined for a kind the schema lacks. */
export function emptyObjectOf(apiVersion: string, kind: string): JsonObject | undefined {
  const key = `${apiVersion}/${kind}`;
  if (!built.has(key)) {
    const schema = messageForKind(apiVersion, kind);
    built.set(key, schema && deepFreeze(skeleton(schema)));
  }
  return built.get(key);
}

function skeleton(schema: MessageSchema): JsonObject {
  const out: JsonObject = {};
  for (const f of schema.fields) {
    const inner = SCALARS.has(f.type) || OPAQUE_TYPES.has(f.type) ? undefined : message(f.type);
    if (f.inline) {
      if (inner) Object.assign(out, skeleton(inner));
    } else if (f.repeated || f.map || f.pointer) {
      if (!f.omitEmpty) out[f.name] = null;
    } else if (inner) {
      // A struct value: never left out (Go has no empty struct to omit), so present, if empty.
      out[f.name] = skeleton(inner);
    }
  }
  return out;
}

function deepFreeze(obj: JsonObject): JsonObject {
  for (const v of Object.values(obj)) if (v !== null && typeof v === 'object') deepFreeze(v as JsonObject);
  return Object.freeze(obj);
}
