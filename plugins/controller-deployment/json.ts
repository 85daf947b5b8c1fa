/**
 * Canonical JSON for comparing and hashing templates as upstream's semantic equality does: keys
 * sorted, and empty objects, empty lists and nulls counted as absent (Go's nil and empty maps,
 * slices and pointers compare equal).
 */
function prune(value: unknown): unknown {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.length ? value.map(prune) : undefined;
  if (typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = prune((value as Record<string, unknown>)[key]);
    if (v !== undefined) out[key] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(prune(value) ?? null);
}
