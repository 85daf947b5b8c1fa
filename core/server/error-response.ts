/**
 * The last step of a failed request: every error leaves as a metav1.Status, in the client's media
 * type when a plugin's serializer has a form for it, else JSON; an error that is not a Status is a
 * 500 and logged. A 401 carries the WWW-Authenticate challenges plugins contributed.
 */
import type Koa from 'koa';
import type { Logger } from 'pino';
import { encodeStatus, errors, isStatusError, type StatusError } from '../errors.js';
import type { Serializer } from '../wire/serializer.js';
import { auditStatus } from './audit.js';
import { type MediaTypes, serialized } from './media-types.js';
import { stateOf } from './request-state.js';

export interface ErrorResponseDeps {
  logger: Logger;
  /** WWW-Authenticate values plugins contributed (basic auth's realm): every 401 carries them. */
  authChallenges: readonly string[];
}

export function writeError(ctx: Koa.Context, err: unknown, deps: ErrorResponseDeps, media: MediaTypes): void {
  const status = isStatusError(err) ? err : unexpected(err, deps.logger);
  ctx.status = status.code;
  const body = status.toStatus();
  const audit = stateOf(ctx).audit;
  if (audit) auditStatus(audit, status.code, body);
  // In the client's media type when it takes no JSON and the serializer has a form for a Status;
  // JSON when it has none, or fails (its failure may be what is being answered).
  const format = media.negotiate(ctx.get('Accept'));
  let bytes: Buffer | undefined;
  try {
    bytes = serialized(format, body);
  } catch (err) {
    deps.logger.error({ err }, 'a serializer failed to encode a Status; answering in JSON');
  }
  ctx.set('Content-Type', bytes ? (format as Serializer).mediaType : 'application/json');
  ctx.body = bytes ?? Buffer.from(encodeStatus(body));
  if (status.code === 401 && deps.authChallenges.length) {
    ctx.set('WWW-Authenticate', [...deps.authChallenges]);
  }
  if (status.details?.retryAfterSeconds) ctx.set('Retry-After', String(status.details.retryAfterSeconds));
}

function unexpected(err: unknown, logger: Logger): StatusError {
  logger.error({ err }, 'unexpected error while serving a request');
  return errors.internal((err as Error)?.message ?? String(err));
}
