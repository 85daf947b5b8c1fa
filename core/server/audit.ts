/**
 * Building the AuditRecord of a request for hooks.audit. Nothing is built unless a plugin taps the
 * hook, so an unaudited server pays nothing on the hot path.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { RequestInfo } from '../api/request-info.js';
import type { AuditRecord, AuditStage, UserInfo } from '../auth-types.js';
import type { Hooks } from '../hooks.js';

export function startAudit(hooks: Hooks, ctx: Koa.Context): AuditRecord | undefined {
  if (hooks.audit.taps.length === 0) return undefined;
  return {
    auditID: randomUUID(),
    requestReceivedTimestamp: new Date(),
    verb: ctx.method.toLowerCase(),
    requestURI: ctx.url,
    sourceIPs: [ctx.req.socket.remoteAddress ?? ''],
    userAgent: ctx.get('User-Agent') || undefined,
    resourceRequest: false,
  };
}

export function auditAuthenticated(
  audit: AuditRecord,
  real: UserInfo,
  effective: UserInfo,
  authenticator: string,
  info: RequestInfo,
): void {
  audit.user = real;
  audit.authenticator = authenticator;
  if (effective !== real) audit.impersonatedUser = effective;
  audit.verb = info.verb;
  audit.resourceRequest = info.resourceRequest;
  if (info.resourceRequest) {
    audit.objectRef = {
      resource: info.resource,
      namespace: info.namespace || undefined,
      name: info.name || undefined,
      apiGroup: info.apiGroup || undefined,
      apiVersion: info.apiVersion,
      subresource: info.subresource || undefined,
    };
  }
}

/** Runs the taps for a stage. An audit plugin's failure is logged, never the request's failure. */
export function emitAudit(hooks: Hooks, logger: Logger, audit: AuditRecord, stage: AuditStage): void {
  try {
    hooks.audit.call(audit, stage);
  } catch (err) {
    logger.error({ err, stage }, 'an audit plugin failed');
  }
}

export function auditStatus(audit: AuditRecord, code: number, body: unknown): void {
  const status = body as { kind?: string; status?: string; reason?: string; message?: string } | undefined;
  audit.responseStatus =
    status?.kind === 'Status'
      ? { code, status: status.status, reason: status.reason, message: status.message }
      : { code, ...(code >= 400 ? { status: 'Failure' } : {}) };
}
