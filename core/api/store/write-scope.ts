import type { UserInfo } from '../../auth-types.js';

/** Who asks, and whether to write: passed to every write. */
export interface WriteScope {
  user: UserInfo;
  namespace: string;
  dryRun: boolean;
  /** '' for the main resource; 'status' etc. for subresource writes (admission sees it). */
  subresource?: string;
  /** Receives the strategy's warnings for the client (HTTP sends them as Warning headers). */
  warn?: (text: string) => void;
  /**
   * Who the write records as in managedFields (an API request's manager); undefined: the write is
   * not tracked (internal writes, subresources other than status, applies, or no field manager).
   */
  fieldManager?: string;
}
