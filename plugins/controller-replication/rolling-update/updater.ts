/**
 * kubectl 1.17's RollingUpdater (the seed's 3.2.1 rolling update): the new controller starts at 0
 * with the desired count in an annotation; then, round after round, it is scaled up as far as
 * maxSurge (1) allows, the updater waits --update-period, and the old one is scaled down as far as
 * the new pods that are available (ready) allow, never below desired - maxUnavailable (0). A round
 * that changes nothing for --timeout fails the update. At the end the annotations are removed, the
 * old controller deleted and, with one name given, the new one renamed to the old name (deleted
 * with its pods orphaned, created again under the old name, which adopts them).
 */
import { type ApiClient, delay, isStatusError, type KubeObject, SkiffError } from 'skiff/sdk';
import { clone } from 'skiff/sdk/api';
import { isPodAvailable, labelSelectorString, selectorFromSet } from 'skiff/sdk/controller';
import {
  annotation,
  DESIRED_REPLICAS,
  ORIGINAL_REPLICAS,
  PODS,
  RCS,
  replicasOf,
  SOURCE_ID,
  specOf,
  updateWithRetries,
} from './controllers.js';

export interface UpdaterConfig {
  oldRc: KubeObject;
  newRc: KubeObject;
  namespace: string;
  updatePeriodMs: number;
  pollIntervalMs: number;
  timeoutMs: number;
  /** Delete: the old controller goes; Rename: also the new one takes the old name. */
  cleanup: 'Delete' | 'Rename';
  minReadySeconds?: number;
  out(line: string): void;
}

const MAX_SURGE = 1;
const MAX_UNAVAILABLE = 0;

const fail = (code: string, message: string, fix: string) =>
  new SkiffError(`SKIFF_ROLLING_UPDATE_${code}`, message, fix);

export class RollingUpdater {
  constructor(private readonly client: ApiClient) {}

  async update(config: UpdaterConfig): Promise<KubeObject> {
    const { out } = config;
    let oldRc = config.oldRc;
    const sourceId = `${oldRc.metadata.name}:${oldRc.metadata.uid}`;
    const [target, existed] = await this.targetController(config.newRc, sourceId, config.namespace);
    let newRc = target;
    out(
      existed ? `Continuing update with existing controller ${newRc.metadata.name}.` : `Created ${newRc.metadata.name}`,
    );
    const desired = Number(annotation(newRc, DESIRED_REPLICAS));
    if (!Number.isInteger(desired)) {
      throw fail(
        'ANNOTATION',
        `Unable to parse annotation for ${newRc.metadata.name}: ${DESIRED_REPLICAS}=${annotation(newRc, DESIRED_REPLICAS)}`,
        'delete the half-made controller and start again',
      );
    }
    if (annotation(oldRc, ORIGINAL_REPLICAS) === undefined) {
      const original = String(replicasOf(await this.client.get(RCS, config.namespace, oldRc.metadata.name ?? '')));
      oldRc = await updateWithRetries(this.client, RCS, config.namespace, oldRc.metadata.name ?? '', (rc) => {
        rc.metadata.annotations = { ...rc.metadata.annotations, [ORIGINAL_REPLICAS]: original };
      });
    }
    const maxUnavailable = desired === 0 ? replicasOf(oldRc) : MAX_UNAVAILABLE;
    const minAvailable = desired === 0 ? 0 : Math.max(0, desired - maxUnavailable);
    out(
      `Scaling up ${newRc.metadata.name} from ${replicasOf(newRc)} to ${desired}, scaling down ${oldRc.metadata.name} from ${replicasOf(oldRc)} to 0 (keep ${minAvailable} pods available, don't exceed ${desired + MAX_SURGE} pods)`,
    );
    let deadline = Date.now() + config.timeoutMs;
    while (replicasOf(newRc) !== desired || replicasOf(oldRc) !== 0) {
      const before = [replicasOf(newRc), replicasOf(oldRc)];
      newRc = await this.scaleUp(newRc, oldRc, desired, config);
      await delay(config.updatePeriodMs);
      oldRc = await this.scaleDown(newRc, oldRc, desired, minAvailable, config);
      if (replicasOf(newRc) !== before[0] || replicasOf(oldRc) !== before[1]) deadline = Date.now() + config.timeoutMs;
      else if (Date.now() > deadline)
        throw fail(
          'TIMEOUT',
          'timed out waiting for any update progress to be made',
          'check why the new pods do not become ready (kubectl describe pods), then run the same command again to resume',
        );
    }
    return this.cleanup(oldRc, newRc, config);
  }

  /** kubectl's getOrCreateTargetController: the next controller, created at 0 with its annotations, or found again. */
  private async targetController(rc: KubeObject, sourceId: string, namespace: string): Promise<[KubeObject, boolean]> {
    try {
      const existing = await this.client.get(RCS, namespace, rc.metadata.name ?? '');
      if (annotation(existing, SOURCE_ID) !== sourceId || annotation(existing, DESIRED_REPLICAS) === undefined) {
        throw fail(
          'ANNOTATION',
          `Missing/unexpected annotations for controller ${rc.metadata.name}, expected ${sourceId} : ${JSON.stringify(existing.metadata.annotations ?? {})}`,
          'choose another name for the new controller, or delete it',
        );
      }
      return [existing, true];
    } catch (err) {
      if (!isStatusError(err) || err.code !== 404) throw err;
    }
    const replicas = replicasOf(rc);
    if (replicas <= 0) {
      throw fail(
        'REPLICAS',
        `Invalid controller spec for ${rc.metadata.name}; required: > 0 replicas, actual: ${replicas}`,
        'give the new controller replicas',
      );
    }
    const created = clone(rc);
    created.metadata.annotations = {
      ...created.metadata.annotations,
      [DESIRED_REPLICAS]: String(replicas),
      [SOURCE_ID]: sourceId,
    };
    specOf(created).replicas = 0;
    return [await this.client.create(RCS, namespace, created), false];
  }

  private async scaleUp(
    newRc: KubeObject,
    oldRc: KubeObject,
    desired: number,
    config: UpdaterConfig,
  ): Promise<KubeObject> {
    const current = replicasOf(newRc);
    if (current === desired) return newRc;
    let increment = desired + MAX_SURGE - (replicasOf(oldRc) + current);
    if (replicasOf(oldRc) === 0) increment = desired - current;
    if (increment <= 0) return newRc;
    const next = Math.min(current + increment, desired);
    config.out(`Scaling ${newRc.metadata.name} up to ${next}`);
    return this.scaleAndWait(newRc, next, config);
  }

  private async scaleDown(
    newRc: KubeObject,
    oldRc: KubeObject,
    desired: number,
    minAvailable: number,
    config: UpdaterConfig,
  ): Promise<KubeObject> {
    if (replicasOf(oldRc) === 0) return oldRc;
    const newAvailable = await this.availablePods(newRc, config);
    const all = replicasOf(oldRc) + replicasOf(newRc);
    const decrement = all - minAvailable - (replicasOf(newRc) - newAvailable);
    if (decrement <= 0) return oldRc;
    let next = Math.max(0, replicasOf(oldRc) - decrement);
    if (replicasOf(newRc) === desired && newAvailable === desired) next = 0;
    config.out(`Scaling ${oldRc.metadata.name} down to ${next}`);
    return this.scaleAndWait(oldRc, next, config);
  }

  /** The new controller's pods that are available (ready for minReadySeconds), not counting deleting ones. */
  private async availablePods(rc: KubeObject, config: UpdaterConfig): Promise<number> {
    const labelSelector = labelSelectorString(selectorFromSet(specOf(rc).selector));
    const { items } = await this.client.list(PODS, config.namespace, { labelSelector });
    return items.filter((p) => !p.metadata.deletionTimestamp && isPodAvailable(p, config.minReadySeconds ?? 0)).length;
  }

  /** kubectl's Scaler with waiting: the scale subresource, then polls until the controller has that many pods. */
  private async scaleAndWait(rc: KubeObject, replicas: number, config: UpdaterConfig): Promise<KubeObject> {
    const name = rc.metadata.name ?? '';
    await this.client.patch(RCS, config.namespace, name, 'merge', { spec: { replicas } }, { subresource: 'scale' });
    const deadline = Date.now() + config.timeoutMs;
    for (;;) {
      const scale = await this.client.get(RCS, config.namespace, name, 'scale');
      const { spec, status } = scale as { spec?: { replicas?: number }; status?: { replicas?: number } };
      if (spec?.replicas !== replicas || status?.replicas === replicas) break;
      if (Date.now() > deadline)
        throw fail(
          'TIMEOUT',
          `timed out waiting for ${name} to have ${replicas} pods`,
          'check the controller manager runs, then run the same command again to resume',
        );
      await delay(config.pollIntervalMs);
    }
    return this.client.get(RCS, config.namespace, name);
  }

  private async cleanup(oldRc: KubeObject, newRc: KubeObject, config: UpdaterConfig): Promise<KubeObject> {
    const { namespace, out } = config;
    const updated = await updateWithRetries(this.client, RCS, namespace, newRc.metadata.name ?? '', (rc) => {
      const { [SOURCE_ID]: _s, [DESIRED_REPLICAS]: _d, ...rest } = rc.metadata.annotations ?? {};
      rc.metadata.annotations = rest;
    });
    await this.waitForDesired(updated, config);
    const oldName = oldRc.metadata.name ?? '';
    out(
      config.cleanup === 'Rename'
        ? `Update succeeded. Deleting old controller: ${oldName}`
        : `Update succeeded. Deleting ${oldName}`,
    );
    await this.client.delete(RCS, namespace, oldName);
    if (config.cleanup === 'Delete') return updated;
    out(`Renaming ${updated.metadata.name} to ${oldName}`);
    return rename(
      this.client,
      await this.client.get(RCS, namespace, updated.metadata.name ?? ''),
      oldName,
      config.pollIntervalMs,
    );
  }

  private async waitForDesired(rc: KubeObject, config: UpdaterConfig): Promise<void> {
    const deadline = Date.now() + config.timeoutMs;
    for (;;) {
      const current = await this.client.get(RCS, config.namespace, rc.metadata.name ?? '');
      const status = (current.status ?? {}) as { observedGeneration?: number; replicas?: number };
      if (
        (status.observedGeneration ?? 0) >= (rc.metadata.generation ?? 0) &&
        (status.replicas ?? 0) === replicasOf(current)
      )
        return;
      if (Date.now() > deadline)
        throw fail(
          'TIMEOUT',
          `timed out waiting for ${rc.metadata.name} to have its replicas`,
          'check the controller manager runs',
        );
      await delay(config.pollIntervalMs);
    }
  }
}

/**
 * kubectl's Rename: the controller is deleted with its pods orphaned, and once it is gone created
 * again under the new name; its selector adopts the orphans.
 */
export async function rename(
  client: ApiClient,
  rc: KubeObject,
  name: string,
  pollIntervalMs: number,
): Promise<KubeObject> {
  const namespace = rc.metadata.namespace ?? '';
  const oldName = rc.metadata.name ?? '';
  try {
    await client.delete(RCS, namespace, oldName, { propagationPolicy: 'Orphan' });
  } catch (err) {
    if (!isStatusError(err) || err.code !== 404) throw err;
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await client.get(RCS, namespace, oldName);
    } catch (err) {
      if (isStatusError(err) && err.code === 404) break;
      throw err;
    }
    if (Date.now() > deadline)
      throw fail(
        'TIMEOUT',
        `timed out waiting for ${oldName} to be deleted`,
        'check that the garbage collector runs (it removes the orphan finalizer)',
      );
    await delay(pollIntervalMs);
  }
  const {
    uid: _u,
    resourceVersion: _r,
    creationTimestamp: _c,
    generation: _g,
    managedFields: _m,
    deletionTimestamp: _d,
    deletionGracePeriodSeconds: _dg,
    finalizers: _f,
    ...metadata
  } = rc.metadata;
  return client.create(RCS, namespace, {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { ...metadata, name },
    spec: rc.spec,
  });
}
