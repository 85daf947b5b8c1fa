/**
 * Reading and decoding request bodies: a size limit (413), known media types (415), valid
 * JSON/YAML/protobuf (400).
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { PATCH_MEDIA_TYPES, type PatchType } from '../api/api-service.js';
import { errors } from '../errors.js';
import { decodeProtobuf, PROTOBUF_MEDIA_TYPE } from '../wire/protobuf.js';

export const WRITE_MEDIA_TYPES = ['application/json', 'application/yaml', PROTOBUF_MEDIA_TYPE];

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limitBytes) {
    req.resume(); // drain so the connection can be reused
    throw errors.tooLarge(limitBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) {
      req.resume();
      throw errors.tooLarge(limitBytes);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Decode a body by its media type; a patch body's media type also names the patch type. */
export function decodeBody(
  raw: Buffer,
  contentType: string | undefined,
  verb: string,
): { body: unknown; patchType?: PatchType } {
  const media = mediaTypeOf(contentType);
  if (raw.length === 0 && verb === 'delete') return { body: undefined };
  if (verb === 'patch') {
    const patchType = PATCH_TYPES[media];
    if (!patchType) throw errors.unsupportedMediaType(media, PATCH_MEDIA_TYPES);
    return { body: patchType === 'apply' ? parseYamlBody(raw) : parseJson(raw), patchType };
  }
  if (media === 'application/json' || (media === '' && raw.length === 0)) return { body: parseJson(raw) };
  if (media === 'application/yaml') return { body: parseYamlBody(raw) };
  if (media === PROTOBUF_MEDIA_TYPE) return { body: raw.length === 0 ? undefined : decodeProtobuf(raw) };
  throw errors.unsupportedMediaType(media, WRITE_MEDIA_TYPES);
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw errors.badRequest(`the request body is not valid JSON: ${(err as Error).message}`);
  }
}

function parseYamlBody(raw: Buffer): unknown {
  try {
    return parseYaml(raw.toString('utf8'));
  } catch (err) {
    throw errors.badRequest(`the request body is not valid YAML: ${(err as Error).message}`);
  }
}
