/**
 * Continue tokens, shaped as upstream's: base64 of {"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key>"}.
 * `start` is the key relative to the resource prefix, so tokens cannot reach other resources.
 */
import { errors } from '../errors.js';

export interface ContinueToken {
  revision: number;
  /** The key (relative to the list prefix) to continue after. */
  after: string;
}

export function encodeContinue(token: ContinueToken): string {
  const json = JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.revision, start: `${token.after}\u0000` });
  return Buffer.from(json).toString('base64url');
}

export function decodeContinue(value: string): ContinueToken {
  let parsed: { v?: string; rv?: number; start?: string };
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw errors.badRequest(`invalid continue token: not base64-encoded JSON`);
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    parsed.v !== 'meta.k8s.io/v1' ||
    typeof parsed.rv !== 'number' ||
    typeof parsed.start !== 'string'
  ) {
    throw errors.badRequest('invalid continue token: unexpected shape; start a new list without continue');
  }
  // Upstream's DecodeContinue: an int64, not 0 (a negative one, which upstream issues once the
  // list's revision is compacted, continues at the newest revision).
  if (!Number.isSafeInteger(parsed.rv) || parsed.rv === 0) {
    throw errors.badRequest('invalid continue token: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (parsed.start.includes('..') || parsed.start.startsWith('/')) {
    throw errors.badRequest('invalid continue token: bad start key');
  }
  return { revision: parsed.rv, after: parsed.start.endsWith('\u0000') ? parsed.start.slice(0, -1) : parsed.start };
}

export const CONTINUE_EXPIRED_MESSAGE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

export function continueExpired() {
  return errors.expired(CONTINUE_EXPIRED_MESSAGE);
}
