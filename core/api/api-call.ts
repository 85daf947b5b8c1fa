/** One call into the API as both transports make it (HTTP and the in-process client), and its answer. */
import type { AuditRecord, UserInfo } from '../auth-types.js';
import type { PatchType } from './patch.js';
import type { RequestInfo } from './request-info.js';
import type { GenericStore } from './store/generic-store.js';
import type { ResourceReader } from './store/reader.js';
import type { ResourceDefinition } from './types.js';

export interface ApiCall {
  info: RequestInfo;
  user: UserInfo;
  query: URLSearchParams;
  /** The decoded request body (JSON object for writes; DeleteOptions for deletes), if any. */
  body?: unknown;
  patchType?: PatchType;
  /** The client's User-Agent: names the field manager of writes without `fieldManager`. */
  userAgent?: string;
  /** Filled with the authorization verdict when the request is audited. */
  audit?: AuditRecord;
  /** Receives the request's warnings (deprecations, strategy warnings): HTTP sends them as headers. */
  warn?: (text: string) => void;
}

export interface ApiOutcome {
  code: number;
  body: unknown;
}

/** A resource as the API serves it: its definition, its store, and its reader (none for virtual kinds). */
export interface Served {
  def: ResourceDefinition;
  store: GenericStore;
  reader?: ResourceReader;
}
