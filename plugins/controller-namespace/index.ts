/**
 * controller-namespace: upstream's namespace controller. A deleted namespace is Terminating; this
 * controller deletes everything in it, then clears spec.finalizers through /finalize, which lets the
 * store remove the namespace. See README.md.
 */

import {
  CORE_V1,
  type ControllerContext,
  definePlugin,
  delay,
  Informer,
  isStatusError,
  type KubeObject,
  WorkQueue,
} from 'skiff/sdk';
import { z } from 'zod';

const NAMESPACES = CORE_V1('namespaces');

export default definePlugin<{ retrySeconds: number }>({
  name: 'controller-namespace',
  description: 'Empties and removes deleted namespaces (upstream namespace controller).',
  config: z.object({ retrySeconds: z.number().positive().default(1) }).strict(),
  setup(ctx) {
    ctx.provide.controller({
      name: 'namespace',
      create: (c) => ({ run: (signal) => runNamespaceController(c, signal, ctx.config.retrySeconds * 1000) }),
    });
  },
});

async function runNamespaceController(c: ControllerContext, signal: AbortSignal, retryMs: number): Promise<void> {
  const informer = new Informer(c.client, NAMESPACES, c.logger);
  const queue = new WorkQueue();
  const watching = informer.run(signal, (type, ns) => {
    if (type !== 'DELETED' && ns.metadata.deletionTimestamp) queue.add(ns.metadata.name ?? '');
  });
  const working = queue.run(
    signal,
    async (name) => {
      const remaining = await emptyNamespace(c, name);
      // Something is still there (finalizers, or objects created meanwhile): look again soon.
      if (remaining > 0) {
        await delay(retryMs, signal);
        queue.add(name);
      }
    },
    c.logger,
    retryMs,
  );
  await Promise.all([watching, working]);
}

/** One pass over a Terminating namespace; returns how many objects are still in it. */
async function emptyNamespace(c: ControllerContext, name: string): Promise<number> {
  let namespace: KubeObject;
  try {
    namespace = await c.client.get(NAMESPACES, '', name);
  } catch (err) {
    if (isStatusError(err) && err.code === 404) return 0;
    throw err;
  }
  if (!namespace.metadata.deletionTimestamp) return 0;
  let remaining = 0;
  for (const ref of await c.namespacedResources()) {
    const { items } = await c.client.list(ref, name);
    for (const obj of items) {
      remaining++;
      if (obj.metadata.deletionTimestamp) continue;
      try {
        await c.client.delete(ref, name, obj.metadata.name ?? '', { propagationPolicy: 'Background' });
        if (!obj.metadata.finalizers?.length) remaining--;
      } catch (err) {
        if (!isStatusError(err) || err.code !== 404) throw err;
        remaining--;
      }
    }
  }
  if (remaining > 0) return remaining;
  await finalize(c, namespace);
  c.logger.info({ namespace: name }, 'namespace emptied and finalized');
  return 0;
}

/** Upstream's finalize: drop the `kubernetes` finalizer; the store removes the namespace when none is left. */
async function finalize(c: ControllerContext, namespace: KubeObject): Promise<void> {
  const spec = (namespace.spec ?? {}) as { finalizers?: string[] };
  const finalizers = (spec.finalizers ?? []).filter((f) => f !== 'kubernetes');
  try {
    await c.client.update(NAMESPACES, '', { ...namespace, spec: { ...spec, finalizers } }, { subresource: 'finalize' });
  } catch (err) {
    if (!isStatusError(err) || err.code !== 404) throw err;
  }
}
