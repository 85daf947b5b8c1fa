/** What one request carries from step to step through the HTTP app (koa's ctx.state). */
import type Koa from 'koa';
import type { RequestInfo } from '../api/request-info.js';
import type { AuditRecord, UserInfo } from '../auth-types.js';
import type { BodyAccount } from './inflight.js';

export interface RequestState {
  /** Set once the request is authenticated: what it asks for. */
  info?: RequestInfo;
  /** Set once the request is authenticated: who asks (the impersonated user when impersonating). */
  user?: UserInfo;
  query: URLSearchParams;
  audit?: AuditRecord;
  /** The body bytes this request holds in the server's budget, given back when it ends. */
  bodies?: BodyAccount;
  /** The server refused it in self-defense (429: the in-flight limit or the body budget). */
  terminated?: boolean;
}

export const stateOf = (ctx: Koa.Context) => ctx.state as RequestState;
