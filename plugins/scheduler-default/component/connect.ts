/**
 * Waiting for the API server before scheduling: it may start after the scheduler. Refused
 * credentials stop start-up (waiting would not fix them); an unreachable server is retried.
 */
import type { Logger } from 'pino';
import { delay, isStatusError, SkiffError } from 'skiff/sdk';
import type { HttpsClient } from 'skiff/sdk/client';

const SELF_REVIEWS = { group: 'authentication.k8s.io', version: 'v1', resource: 'selfsubjectreviews' };

export async function waitForApiServer(client: HttpsClient, signal: AbortSignal, logger: Logger): Promise<void> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      const review = await client.create(SELF_REVIEWS, '', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
        metadata: {},
      });
      const user = (review.status as { userInfo?: { username?: string } } | undefined)?.userInfo?.username;
      logger.info({ server: client.server, user }, 'connected to the API server');
      return;
    } catch (err) {
      if (signal.aborted) return;
      if (isStatusError(err) && err.code === 401) {
        throw new SkiffError(
          'SKIFF_SCHEDULER_UNAUTHORIZED',
          `${client.server} refused the scheduler's credentials (401)`,
          'give a kubeconfig whose client certificate the API server trusts (skiff kubeconfig --user system:kube-scheduler writes one)',
        );
      }
      // Another Status: the server answers, it just offers no self-review.
      if (isStatusError(err)) return;
      if (err instanceof SkiffError && err.code === 'SKIFF_API_TLS') throw err;
      if (attempt % 10 === 0) logger.warn({ err: (err as Error).message }, 'waiting for the API server');
      await delay(1_000, signal);
    }
  }
}
