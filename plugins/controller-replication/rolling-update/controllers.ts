/**
 * The ReplicationControllers of a rolling update, as kubectl 1.17's rolling updater kept them: the
 * annotations that let an interrupted update resume (kubectl.kubernetes.io/next-controller-id on the
 * old controller, update-source-id and desired-replicas on the new one, original-replicas on the
 * old one), the new controller made from the old one with another image and a `deployment` label
 * that tells their pods apart, and updates retried on conflict.
 */
import { createHash } from 'node:crypto';
import { type ApiClient, isStatusError, type KubeObject, type ResourceRef, SkiffError } from 'skiff/sdk';
import { clone } from 'skiff/sdk/api';

export const RCS = { group: '', version: 'v1', resource: 'replicationcontrollers' };
export const PODS = { group: '', version: 'v1', resource: 'pods' };

const PREFIX = 'kubectl.kubernetes.io/';
export const SOURCE_ID = `${PREFIX}update-source-id`;
export const DESIRED_REPLICAS = `${PREFIX}desired-replicas`;
export const ORIGINAL_REPLICAS = `${PREFIX}original-replicas`;
export const NEXT_CONTROLLER = `${PREFIX}next-controller-id`;

export interface RcSpec {
  replicas?: number;
  selector?: Record<string, string>;
  template?: {
    metadata?: { labels?: Record<string, string> };
    spec?: { containers?: { name?: string; image?: string; imagePullPolicy?: string }[] };
  };
}

export const specOf = (rc: KubeObject) => (rc.spec ?? {}) as RcSpec;
export const replicasOf = (rc: KubeObject) => specOf(rc).replicas ?? 0;
export const annotation = (rc: KubeObject, key: string) => rc.metadata.annotations?.[key];

const fail = (code: string, message: string, fix: string) =>
  new SkiffError(`SKIFF_ROLLING_UPDATE_${code}`, message, fix);

/** kubectl's HashObject: an md5 of the object's JSON. */
export function hashObject(obj: unknown): string {
  return createHash('md5').update(JSON.stringify(obj)).digest('hex');
}

/** Reads, changes and writes `name`, reading again when another writer came first (kubectl's updateRcWithRetries). */
export async function updateWithRetries(
  client: ApiClient,
  ref: ResourceRef,
  namespace: string,
  name: string,
  change: (obj: KubeObject) => void,
): Promise<KubeObject> {
  for (let attempt = 0; ; attempt++) {
    const current = clone(await client.get(ref, namespace, name));
    change(current);
    try {
      return await client.update(ref, namespace, current);
    } catch (err) {
      if (attempt >= 4 || !isStatusError(err) || err.code !== 409) throw err;
    }
  }
}

/** The next controller of an update already begun, or undefined. */
export async function loadNext(client: ApiClient, namespace: string, name: string): Promise<KubeObject | undefined> {
  if (!name) return undefined;
  try {
    return await client.get(RCS, namespace, name);
  } catch (err) {
    if (isStatusError(err) && err.code === 404) return undefined;
    throw err;
  }
}

export interface NewControllerConfig {
  namespace: string;
  oldName: string;
  newName: string;
  image: string;
  container?: string;
  deploymentKey: string;
  pullPolicy?: string;
}

/** kubectl's CreateNewControllerFromCurrentController: the old controller with the new image, named and labelled by its hash. */
export async function newControllerFromCurrent(client: ApiClient, cfg: NewControllerConfig): Promise<KubeObject> {
  const rc = clone(await client.get(RCS, cfg.namespace, cfg.oldName));
  const containers = specOf(rc).template?.spec?.containers ?? [];
  if (containers.length === 0)
    throw fail('NO_CONTAINERS', `pod has no containers! (${cfg.oldName})`, 'give the controller a container');
  if (containers.length > 1 && !cfg.container) {
    throw fail(
      'CONTAINER',
      'must specify container to update when updating a multi-container pod',
      'add --container NAME',
    );
  }
  const index = cfg.container ? containers.findIndex((c) => c.name === cfg.container) : 0;
  if (index < 0)
    throw fail('CONTAINER', `container ${cfg.container} not found in pod`, 'name one of the template containers');
  containers[index]!.image = cfg.image;
  if (cfg.pullPolicy) containers[index]!.imagePullPolicy = cfg.pullPolicy;
  const hash = hashObject(rc);
  const spec = specOf(rc);
  spec.selector = { ...spec.selector, [cfg.deploymentKey]: hash };
  spec.template!.metadata = {
    ...spec.template?.metadata,
    labels: { ...spec.template?.metadata?.labels, [cfg.deploymentKey]: hash },
  };
  const {
    name: _n,
    uid: _u,
    resourceVersion: _r,
    creationTimestamp: _c,
    generation: _g,
    managedFields: _m,
    ...rest
  } = rc.metadata;
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { ...rest, name: cfg.newName || `${cfg.oldName}-${hash}` },
    spec,
  };
}

/**
 * kubectl's UpdateExistingReplicationController: names the next controller on the old one, and,
 * when the old selector lacks the deployment key, adds it to the template, to every pod and then
 * to the selector (so the old controller's pods and the new one's never overlap), deleting any pod
 * the old controller made meanwhile without the label.
 */
export async function prepareOld(
  client: ApiClient,
  old: KubeObject,
  namespace: string,
  next: string,
  key: string,
  value: string,
): Promise<KubeObject> {
  const name = old.metadata.name ?? '';
  const setNext = (rc: KubeObject) => {
    rc.metadata.annotations = { ...rc.metadata.annotations, [NEXT_CONTROLLER]: next };
  };
  if (specOf(old).selector?.[key] !== undefined) return updateWithRetries(client, RCS, namespace, name, setNext);
  await updateWithRetries(client, RCS, namespace, name, (rc) => {
    setNext(rc);
    const template = specOf(rc).template!;
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [key]: value } };
  });
  const selector = (sel: Record<string, string> | undefined) =>
    Object.entries(sel ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  const { items } = await client.list(PODS, namespace, { labelSelector: selector(specOf(old).selector) });
  for (const pod of items) {
    await updateWithRetries(client, PODS, namespace, pod.metadata.name ?? '', (p) => {
      p.metadata.labels = { ...p.metadata.labels, [key]: value };
    });
  }
  const updated = await updateWithRetries(client, RCS, namespace, name, (rc) => {
    specOf(rc).selector = { ...specOf(rc).selector, [key]: value };
  });
  const stray = await client.list(PODS, namespace, { labelSelector: selector(specOf(old).selector) });
  for (const pod of stray.items) {
    if (pod.metadata.labels?.[key] !== value) await client.delete(PODS, namespace, pod.metadata.name ?? '');
  }
  return updated;
}

/** kubectl's FindSourceController: the controller a rename left behind, by its update-source-id. */
export async function findSource(client: ApiClient, namespace: string, name: string): Promise<KubeObject> {
  const { items } = await client.list(RCS, namespace);
  const found = items.find((rc) => annotation(rc, SOURCE_ID)?.startsWith(name));
  if (!found) {
    throw fail(
      'NOT_FOUND',
      `couldn't find a replication controller with source id == ${namespace}/${name}`,
      'check the name and namespace',
    );
  }
  return found;
}
