/**
 * controller-root-ca-cert-publisher: upstream's root-ca-cert-publisher controller. Every active
 * namespace gets a ConfigMap `kube-root-ca.crt` whose `ca.crt` is the cluster CA, so the projected
 * token volume that the ServiceAccount admission plugin mounts can be filled. See README.md.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type ApiClient,
  CORE_V1,
  type ControllerContext,
  definePlugin,
  errors,
  Informer,
  isActiveNamespace,
  isStatusError,
  type KubeObject,
  WorkQueue,
} from 'skiff/sdk';
import { PKI } from 'skiff/sdk/auth';
import { z } from 'zod';

const NAMESPACES = CORE_V1('namespaces');
const CONFIG_MAPS = CORE_V1('configmaps');
export const ROOT_CA_CONFIG_MAP = 'kube-root-ca.crt';
const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
const DESCRIPTION =
  'The CA bundle of this cluster, for verifying the API server at its in-cluster addresses (kubernetes.default.svc).';

const configSchema = z
  .object({
    /** The CA to publish (upstream's --root-ca-file); default: the controller manager's client CA, else the PKI's. */
    rootCAFile: z.string().min(1).optional(),
  })
  .strict();

export default definePlugin<z.infer<typeof configSchema>>({
  name: 'controller-root-ca-cert-publisher',
  description: 'Publishes the cluster CA as the kube-root-ca.crt ConfigMap in every namespace (upstream controller).',
  dependencies: ['api-core-v1'],
  config: configSchema,
  flags: [
    {
      flag: '--root-ca-file <file>',
      help: 'the CA published to pods as kube-root-ca.crt (default: the kubeconfig CA)',
      toConfig: (rootCAFile) => ({ rootCAFile }),
      roles: ['controller-manager'],
    },
  ],
  setup(ctx) {
    const configured = ctx.config.rootCAFile && resolve(ctx.config.rootCAFile);
    // A file named on purpose must be readable before anything starts, as upstream's flag requires.
    if (configured) readCA(configured);
    ctx.provide.controller({
      name: 'root-ca-cert-publisher',
      aliases: ['root-ca-certificate-publisher-controller'], // upstream's name since 1.28
      // The plugin's own file wins; then the CA the controller manager trusts the API server by;
      // then, in the API server's process (which has no such client), the PKI's CA. The PKI is
      // looked up only then, so a controller manager given --kubeconfig needs none.
      create: (c) => {
        const ca = configured ? readCA(configured) : (c.rootCA ?? ctx.use(PKI).caCertificate());
        return { run: (signal) => runPublisher(c, signal, ca) };
      },
    });
  },
});

function readCA(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw errors.internal(
      `root-ca-cert-publisher cannot read the CA file ${file}: ${(err as Error).message}; set rootCAFile (--root-ca-file) to the cluster CA`,
    );
  }
}

function desired(namespace: string, caPem: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: ROOT_CA_CONFIG_MAP, namespace, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
    data: { 'ca.crt': caPem },
  };
}

async function publish(client: ApiClient, namespace: string, caPem: string, existing?: KubeObject): Promise<void> {
  try {
    if (!existing) {
      await client.create(CONFIG_MAPS, namespace, desired(namespace, caPem));
      return;
    }
    const data = existing.data as Record<string, string> | undefined;
    if (data?.['ca.crt'] === caPem && Object.keys(data).length === 1) return;
    const annotations = { ...existing.metadata.annotations, [DESCRIPTION_ANNOTATION]: DESCRIPTION };
    await client.update(CONFIG_MAPS, namespace, {
      ...existing,
      metadata: { ...existing.metadata, annotations },
      data: { 'ca.crt': caPem },
    });
  } catch (err) {
    // Created or changed meanwhile (the informer will bring it back to us), or the namespace is going.
    if (!isStatusError(err) || ![403, 404, 409].includes(err.code)) throw err;
  }
}

async function runPublisher(c: ControllerContext, signal: AbortSignal, caPem: string) {
  const namespaces = new Informer(c.client, NAMESPACES, c.logger);
  const configMaps = new Informer(c.client, CONFIG_MAPS, c.logger);
  const queue = new WorkQueue();
  const sync = async (namespace: string) => {
    await Promise.all([namespaces.hasSynced(), configMaps.hasSynced()]);
    if (!isActiveNamespace(namespaces.items.get(`/${namespace}`))) return;
    await publish(c.client, namespace, caPem, configMaps.items.get(`${namespace}/${ROOT_CA_CONFIG_MAP}`));
  };
  await Promise.all([
    namespaces.run(signal, (type, ns) => {
      if (type !== 'DELETED') queue.add(ns.metadata.name ?? '');
    }),
    configMaps.run(signal, (_type, cm) => {
      if (cm.metadata.name === ROOT_CA_CONFIG_MAP) queue.add(cm.metadata.namespace ?? '');
    }),
    queue.run(signal, sync, c.logger),
  ]);
}
