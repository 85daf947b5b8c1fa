/** What one Deployment's sync works with: the client, the Event recorder, the queue and the pods seen. */

import type { Logger } from 'pino';
import type { ApiClient, KubeObject } from 'skiff/sdk';
import type { ControllerQueue, EventRecorder } from 'skiff/sdk/controller';
import { DEPLOYMENT_KIND, DEPLOYMENTS, type Deployment } from './types.js';

export interface SyncContext {
  client: ApiClient;
  events: EventRecorder;
  logger: Logger;
  queue: ControllerQueue;
  /** The active pods of a namespace (for Recreate: no old pod may still run). */
  podsIn(namespace: string): KubeObject[];
}

export const keyOf = (d: KubeObject) => `${d.metadata.namespace ?? ''}/${d.metadata.name ?? ''}`;

export function event(
  ctx: SyncContext,
  d: Deployment,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): void {
  ctx.events.event(d, type, reason, message, DEPLOYMENT_KIND);
}

/** Writes the Deployment's status; the object keeps the newest resourceVersion for later writes. */
export async function updateStatus(ctx: SyncContext, d: Deployment): Promise<void> {
  const written = await ctx.client.update<Deployment>(DEPLOYMENTS, d.metadata.namespace ?? '', d, {
    subresource: 'status',
  });
  d.metadata = { ...d.metadata, resourceVersion: written.metadata.resourceVersion };
}

/**
 * Writes the Deployment's revision annotation. Upstream writes it with the status (its status
 * strategy keeps annotations); here it is a write of the object itself, which changes no spec and
 * so no generation.
 */
export async function updateRevisionAnnotation(ctx: SyncContext, d: Deployment, revision: string): Promise<void> {
  const annotations = { ...d.metadata.annotations, 'deployment.kubernetes.io/revision': revision };
  const written = await ctx.client.update<Deployment>(DEPLOYMENTS, d.metadata.namespace ?? '', {
    ...d,
    metadata: { ...d.metadata, annotations },
  });
  d.metadata = { ...d.metadata, annotations, resourceVersion: written.metadata.resourceVersion };
}
