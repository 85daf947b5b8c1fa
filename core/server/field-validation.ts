/**
 * fieldValidation (Strict | Warn, the default | Ignore) where upstream decodes strictly: create,
 * update and patch bodies (delete options are decoded leniently upstream, and here). Duplicate keys
 * are found in every JSON and YAML body, whatever the kind or subresource (JSON's named by path,
 * YAML's by line, as upstream's two decoders word them); unknown fields are dropped where the kind
 * has a schema (its own body or its status).
 */
import type Koa from 'koa';
import type { ResourceRegistry } from '../api/registry.js';
import type { RequestInfo } from '../api/request-info.js';
import { apiVersionOf } from '../api/types.js';
import { errors, type FieldError, fieldErrorBody, StatusError } from '../errors.js';
import { duplicateFields } from '../wire/duplicate-fields.js';
import { messageForKind } from '../wire/schema.js';
import { dropUnknownFields, type FieldValidation, fieldValidationOf } from '../wire/unknown-fields.js';
import { type DecodedBody, mediaTypeOf } from './body.js';
import { stateOf } from './request-state.js';
import { warningsOf } from './warnings.js';

/** Checks (and, for unknown fields, trims) a decoded create, update or patch body per fieldValidation. */
export function validateFields(
  ctx: Koa.Context,
  registry: ResourceRegistry,
  info: RequestInfo,
  decoded: DecodedBody,
  raw: Buffer,
): void {
  const mode = fieldValidationOf(stateOf(ctx).query);
  if (info.verb === 'patch') {
    validatePatchFields(ctx, raw, mode, decoded);
    return;
  }
  const { body } = decoded;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const def = registry.find(info.apiGroup, info.apiVersion, info.resource);
  const schema =
    def && (!info.subresource || info.subresource === 'status') && messageForKind(apiVersionOf(def), def.kind);
  const unknown = schema ? dropUnknownFields(body as Record<string, unknown>, schema.name) : [];
  if (mode === 'Ignore') return;
  const json = mediaTypeOf(ctx.get('Content-Type')) === 'application/json';
  const duplicates = json ? duplicateFields(raw.toString('utf8')).map((d) => `duplicate field "${d}"`) : [];
  const yamlKeys = decoded.duplicateKeys ?? [];
  const unknowns = unknown.map((u) => `unknown field "${u}"`);
  if (duplicates.length + yamlKeys.length + unknowns.length === 0) return;
  if (mode === 'Strict') {
    // Upstream's YAML decoder reports its duplicates as one error, a line each.
    const listed = [...duplicates, ...(yamlKeys.length ? [yamlUnmarshalErrors(yamlKeys)] : []), ...unknowns];
    // Upstream names the kind it decoded: the body's own kind (Binding, Scale...), else the resource's.
    const given = (body as { kind?: unknown }).kind;
    const kind = typeof given === 'string' && given ? given : (def?.kind ?? info.resource);
    throw errors.badRequest(
      `${kind} in version "${info.apiVersion}" cannot be handled as a ${kind}: strict decoding error: ${listed.join(', ')}`,
    );
  }
  for (const l of [...duplicates, ...yamlKeys, ...unknowns]) warningsOf(ctx).add(l);
}

/**
 * Duplicate keys in a merge, strategic-merge or JSON patch body, as upstream's patch handler finds
 * them: a warning each (`json patch duplicate field "[0].op"` for JSON patch), or with Strict a 422
 * on the field "patch". Upstream shows the patched object as the value; Skiff checks before
 * applying and shows the patch. Apply bodies are YAML: see validateApplyKeys.
 */
function validatePatchFields(ctx: Koa.Context, raw: Buffer, mode: FieldValidation, decoded: DecodedBody): void {
  const { patchType } = decoded;
  if (mode === 'Ignore' || !patchType) return;
  if (patchType === 'apply') {
    validateApplyKeys(ctx, mode, decoded.duplicateKeys);
    return;
  }
  const prefix = patchType === 'json' ? 'json patch ' : '';
  const text = raw.toString('utf8');
  const found = duplicateFields(text).map((d) => `${prefix}duplicate field "${d}"`);
  if (found.length === 0) return;
  if (mode === 'Warn') {
    for (const f of found) warningsOf(ctx).add(f);
    return;
  }
  const cause: FieldError = {
    type: 'FieldValueInvalid',
    field: 'patch',
    value: text,
    detail: `strict decoding error: ${found.join(', ')}`,
  };
  const message = `patch: ${fieldErrorBody(cause)}`;
  throw new StatusError(422, 'Invalid', ` "" is invalid: ${message}`, {
    causes: [{ reason: cause.type, message: fieldErrorBody(cause), field: cause.field }],
  });
}

/**
 * Keys given twice in a server-side apply body, as upstream's apply patcher treats them: a warning
 * each (`line 5: key "name" already set in map`), or with Strict a 400 "error strict decoding YAML".
 * The apply uses the last value, as upstream's lenient first decoding does.
 */
function validateApplyKeys(ctx: Koa.Context, mode: FieldValidation, duplicateKeys: string[] = []): void {
  if (duplicateKeys.length === 0) return;
  if (mode === 'Strict') {
    throw errors.badRequest(
      `error strict decoding YAML: error converting YAML to JSON: ${yamlUnmarshalErrors(duplicateKeys)}`,
    );
  }
  for (const key of duplicateKeys) warningsOf(ctx).add(key);
}

/** go-yaml's error for a document with keys given twice: one line per key. */
function yamlUnmarshalErrors(duplicateKeys: string[]): string {
  return `yaml: unmarshal errors:\n  ${duplicateKeys.join('\n  ')}`;
}
