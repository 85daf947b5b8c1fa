/**
 * Strategic-merge-patch metadata for the apps/v1 kinds, read from the schema table of the built-in
 * types (upstream's struct tags: patchStrategy and patchMergeKey), so `kubectl apply`, `kubectl
 * rollout restart` and `kubectl patch` merge containers by name, ports by containerPort, conditions
 * by type, ... exactly where upstream does.
 */
import type { PatchMeta } from 'skiff/sdk/api';
import { type MessageSchema, message } from 'skiff/sdk/wire';

const MAX_DEPTH = 16;

function walk(schema: MessageSchema, path: string, out: PatchMeta, seen: string[]): void {
  if (seen.length > MAX_DEPTH || seen.includes(schema.name)) return;
  for (const field of schema.fields) {
    const at = field.inline ? path : path ? `${path}.${field.name}` : field.name;
    const strategy = field.markers.patchStrategy ?? '';
    if (field.repeated && strategy.split(',').includes('merge')) {
      out[at] = { strategy: 'merge', mergeKey: field.markers.patchMergeKey ?? '' };
    }
    if (field.map) continue;
    const child = message(field.type);
    if (child) walk(child, field.repeated ? `${at}[]` : at, out, [...seen, schema.name]);
  }
}

/** The patch metadata of a built-in kind: `patchMetaOf('k8s.io.api.apps.v1.Deployment')`. */
export function patchMetaOf(messageName: string): PatchMeta {
  const schema = message(messageName);
  const out: PatchMeta = {};
  if (schema) walk(schema, '', out, []);
  return out;
}
