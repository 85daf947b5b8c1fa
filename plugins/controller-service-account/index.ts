/**
 * controller-service-account: upstream's service-account controller. Every active namespace gets
 * a `default` ServiceAccount, and gets it back if it is deleted. See README.md.
 */

import {
  type ApiClient,
  CORE_V1,
  type ControllerContext,
  definePlugin,
  Informer,
  isActiveNamespace,
  isStatusError,
  WorkQueue,
} from 'skiff/sdk';
import { z } from 'zod';

const NAMESPACES = CORE_V1('namespaces');
const SERVICE_ACCOUNTS = CORE_V1('serviceaccounts');
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public'];

export default definePlugin<{ accounts: string[] }>({
  name: 'controller-service-account',
  description: 'Creates the default ServiceAccount in every namespace (upstream serviceaccount controller).',
  dependencies: ['api-core-v1'],
  config: z.object({ accounts: z.array(z.string().min(1)).default(['default']) }).strict(),
  setup(ctx) {
    // The namespaces that exist from the start get their accounts before the server listens, so the
    // first pod created after start-up never races the controller.
    ctx.provide.bootstrap('service accounts of the initial namespaces', async (client) => {
      for (const namespace of INITIAL_NAMESPACES) {
        for (const name of ctx.config.accounts) await createIfMissing(client, namespace, name);
      }
    });
    ctx.provide.controller({
      name: 'serviceaccount',
      create: (c) => ({ run: (signal) => runServiceAccountController(c, signal, ctx.config.accounts) }),
    });
  },
});

async function createIfMissing(client: ApiClient, namespace: string, name: string): Promise<void> {
  try {
    await client.create(SERVICE_ACCOUNTS, namespace, { metadata: { name, namespace } });
  } catch (err) {
    // Already there (created by someone else), or the namespace began terminating: both fine.
    if (!isStatusError(err) || ![403, 404, 409].includes(err.code)) throw err;
  }
}

async function runServiceAccountController(c: ControllerContext, signal: AbortSignal, accounts: string[]) {
  const namespaces = new Informer(c.client, NAMESPACES, c.logger);
  const serviceAccounts = new Informer(c.client, SERVICE_ACCOUNTS, c.logger);
  const queue = new WorkQueue();
  const ensure = async (namespace: string) => {
    await serviceAccounts.hasSynced();
    if (!isActiveNamespace(namespaces.items.get(`/${namespace}`))) return;
    for (const name of accounts) {
      if (!serviceAccounts.items.has(`${namespace}/${name}`)) await createIfMissing(c.client, namespace, name);
    }
  };
  await Promise.all([
    namespaces.run(signal, (type, ns) => {
      if (type !== 'DELETED') queue.add(ns.metadata.name ?? '');
    }),
    serviceAccounts.run(signal, (type, sa) => {
      if (type === 'DELETED' && accounts.includes(sa.metadata.name ?? '')) queue.add(sa.metadata.namespace ?? '');
    }),
    queue.run(signal, ensure, c.logger),
  ]);
}
