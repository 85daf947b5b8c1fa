/** Read-only objects shared between the watch cache and in-process informers. */
/**
 * Freezes `obj` and everything it holds, so a mutation throws instead of changing what every other
 * reader of the watch cache sees. Objects already frozen are taken as frozen through, so a cache
 * object shared by many watchers is walked once. Not walked into: the insides of
 * managedFields[].fieldsV1, opaque to clients (upstream's FieldsV1 is raw bytes) and half the
 * objects of a typical pod; only their top object is frozen.
 *
 * Every created object passes through here once an in-process controller watches its kind, so the
 * walk is kept cheap: arrays by index (for…in would enumerate their indices as strings), children
 * before their parent, and no array allocated per object.
 */
export function deepFreeze<T>(obj: T): T {
  if (typeof obj !== 'object' || obj === null || Object.isFrozen(obj)) return obj;
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) deepFreeze(obj[i]);
  } else {
    for (const k in obj) {
      const v = (obj as Record<string, unknown>)[k];
      if (k === 'managedFields' && Array.isArray(v)) freezeManagedFields(v);
      else deepFreeze(v);
    }
  }
  return Object.freeze(obj);
}

function freezeManagedFields(entries: unknown[]): void {
  if (Object.isFrozen(entries)) return;
  for (const entry of entries) {
    if (typeof entry !== 'object' || entry === null || Object.isFrozen(entry)) continue;
    for (const k in entry) {
      const v = (entry as Record<string, unknown>)[k];
      if (k === 'fieldsV1') Object.freeze(v);
      else deepFreeze(v);
    }
    Object.freeze(entry);
  }
  Object.freeze(entries);
}
