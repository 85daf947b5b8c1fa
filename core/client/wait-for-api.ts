/**
 * What every component run in its own process (controller manager, scheduler, kubelet, proxy)
 * does first: wait for the API server, which may start after it, and ask who its credentials
 * make it (a SelfSubjectReview). Refused credentials and TLS mismatches stop start-up, since
 * waiting would not fix them; an unreachable server is retried every second.
 */
import type { Logger } from 'pino';
import { isStatusError, SkiffError } from '../errors.js';
import type { HttpsClient } from './https-client.js';
import { delay } from './informer.js';

const SELF_REVIEWS = { group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews' };

/** The coded error a component gives when the server answers 401 to its credentials. */
export interface RefusedCredentials {
  code: string;
  /** "the scheduler's", "the kubelet's" */
  whose: string;
  fix: string;
}

/** The user the server says these credentials are; undefined when it offers no self-review or `signal` ends the wait. */
export async function waitForApiServer(
  client: HttpsClient,
  signal: AbortSignal,
  logger: Logger,
  refused: RefusedCredentials,
): Promise<string | undefined> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      const review = await client.create(SELF_REVIEWS, '', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
        metadata: {},
      });
      const user = (review.status as { userInfo?: { username?: string; groups?: string[] } } | undefined)?.userInfo;
      logger.info({ server: client.server, user: user?.username, groups: user?.groups }, 'connected to the API server');
      return user?.username;
    } catch (err) {
      if (signal.aborted) return undefined;
      if (isStatusError(err) && err.code === 401) {
        throw new SkiffError(refused.code, `${client.server} refused ${refused.whose} credentials (401)`, refused.fix);
      }
      // Another Status: the server answers, it just offers no self-review (api-authentication-v1 off).
      if (isStatusError(err)) return void logger.info({ server: client.server }, 'connected to the API server');
      if (err instanceof SkiffError && err.code === 'SKIFF_API_TLS') throw err;
      if (attempt % 10 === 0) logger.warn({ err: (err as Error).message }, 'waiting for the API server');
      await delay(1_000, signal);
    }
  }
  return undefined;
}
