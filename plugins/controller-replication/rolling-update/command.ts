/**
 * `skiff rolling-update OLD [NEW] (--image=IMAGE | -f NEW_RC_FILE) [--rollback]`: kubectl 1.17's
 * `kubectl rolling-update` (the seed's way to roll an RC to a new image; kubectl 1.18 removed it
 * for Deployments), against an API server reached through a kubeconfig or --server, with kubectl's
 * flags, defaults and messages.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type ApiClient, isStatusError, type KubeObject, SkiffError } from 'skiff/sdk';
import { Command, goDurationSeconds } from 'skiff/sdk/cli';
import { fromKubeconfig, HttpsClient } from 'skiff/sdk/client';
import { parse as parseYaml } from 'yaml';
import {
  annotation,
  DESIRED_REPLICAS,
  findSource,
  hashObject,
  loadNext,
  NEXT_CONTROLLER,
  newControllerFromCurrent,
  ORIGINAL_REPLICAS,
  prepareOld,
  RCS,
  SOURCE_ID,
  specOf,
} from './controllers.js';
import { RollingUpdater, rename } from './updater.js';

export interface RollingUpdateOptions {
  filename?: string;
  image?: string;
  deploymentLabelKey: string;
  container?: string;
  imagePullPolicy?: string;
  rollback?: boolean;
  updatePeriod: number;
  pollInterval: number;
  timeout: number;
  dryRun?: boolean;
  namespace: string;
  kubeconfig?: string;
  server?: string;
}

const usage = (message: string) =>
  new SkiffError('SKIFF_ROLLING_UPDATE_USAGE', message, 'see skiff rolling-update --help');

export function rollingUpdateCommand(): Command {
  return new Command('rolling-update')
    .description(
      'roll a ReplicationController to a new image or controller, one pod at a time (kubectl 1.17 rolling-update)',
    )
    .argument('<old>', 'the ReplicationController to replace')
    .argument('[new]', 'the new controller name (default: the old name, kept at the end)')
    .option('-f, --filename <file>', 'the new ReplicationController (JSON or YAML)')
    .option('--image <image>', 'the new image (a new controller is made from the old one)')
    .option('--deployment-label-key <key>', 'the label telling old and new pods apart (with --image)', 'deployment')
    .option('--container <name>', 'the container whose image changes (needed with several)')
    .option('--image-pull-policy <policy>', 'Always, Never or IfNotPresent (needed when the image stays the same)')
    .option('--rollback', 'abort an update in progress: roll back to the old controller')
    .option('--update-period <d>', 'time between updating pods (default 1m0s)', goDurationSeconds)
    .option('--poll-interval <d>', 'time between polls of the controllers (default 3s)', goDurationSeconds)
    .option('--timeout <d>', 'how long a step may make no progress (default 5m0s)', goDurationSeconds)
    .option('--dry-run', 'print what would be done, change nothing')
    .option('-n, --namespace <ns>', 'the namespace', 'default')
    .option('--kubeconfig <file>', 'how to reach the API server (default: $KUBECONFIG or ~/.kube/config)')
    .option('-s, --server <url>', "the API server's address (overrides the kubeconfig's)")
    .action(async (oldName: string, newName: string | undefined, given: Partial<RollingUpdateOptions>) => {
      // kubectl's defaults: --update-period 1m0s, --poll-interval 3s, --timeout 5m0s.
      const opts = { updatePeriod: 60, pollInterval: 3, timeout: 300, ...given } as RollingUpdateOptions;
      const client = connect(opts);
      try {
        const rc = await rollingUpdate(client, oldName, newName, opts, (line) => process.stdout.write(`${line}\n`));
        if (rc)
          process.stdout.write(
            `replicationcontroller/${rc.metadata.name} ${newName ? `rolling updated to "${newName}"` : 'rolling updated'}\n`,
          );
      } finally {
        client.close();
      }
    });
}

function connect(opts: RollingUpdateOptions): HttpsClient {
  const kubeconfig = opts.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
  if (opts.server && !opts.kubeconfig)
    return new HttpsClient({ server: opts.server, userAgent: 'skiff-rolling-update' });
  return fromKubeconfig(kubeconfig, { server: opts.server, userAgent: 'skiff-rolling-update' });
}

function checkArguments(opts: RollingUpdateOptions): void {
  if (!opts.deploymentLabelKey) throw usage('--deployment-label-key can not be empty');
  if (opts.rollback) {
    if (opts.filename || opts.image) throw usage("Don't specify --filename or --image on rollback");
  } else if (!opts.filename && !opts.image) throw usage('Must specify --filename or --image for new controller');
  else if (opts.filename && opts.image) throw usage('--filename and --image can not both be specified');
}

function readController(file: string, namespace: string): { rc: KubeObject; replicasDefaulted: boolean } {
  const rc = parseYaml(readFileSync(file === '-' ? 0 : file, 'utf8')) as KubeObject;
  if (rc?.kind !== 'ReplicationController') {
    throw usage(`${file} contains a ${rc?.apiVersion ?? ''}, Kind=${rc?.kind ?? ''} not a ReplicationController`);
  }
  rc.metadata = { ...rc.metadata, namespace };
  return { rc, replicasDefaulted: specOf(rc).replicas === undefined };
}

/** kubectl's RollingUpdateOptions.Run; returns the controller at the end (undefined for a dry run). */
export async function rollingUpdate(
  client: ApiClient,
  oldName: string,
  newNameArg: string | undefined,
  opts: RollingUpdateOptions,
  out: (line: string) => void,
): Promise<KubeObject | undefined> {
  checkArguments(opts);
  const { namespace } = opts;
  const keepOldName = newNameArg === undefined;
  let oldRc: KubeObject;
  try {
    oldRc = await client.get(RCS, namespace, oldName);
  } catch (err) {
    if (!isStatusError(err) || err.code !== 404 || !opts.image || !keepOldName) throw err;
    // Interrupted while renaming: the new controller names the old one as its source.
    return rename(client, await findSource(client, namespace, oldName), oldName, opts.pollInterval * 1000);
  }
  const nextName = () => newNameArg ?? annotation(oldRc, NEXT_CONTROLLER) ?? '';
  let newRc: KubeObject | undefined;
  let replicasDefaulted = false;
  if (opts.filename) ({ rc: newRc, replicasDefaulted } = readController(opts.filename, namespace));
  if (opts.image) {
    ({ oldRc, newRc } = await prepareImageUpdate(client, oldRc, nextName(), opts, out));
  }
  if (opts.rollback) {
    newRc = await loadNext(client, namespace, nextName());
    if (!newRc) throw usage(`Could not find ${nextName()} to rollback.`);
  }
  if (!newRc) throw usage('Must specify --filename or --image for new controller');
  if (oldName === newRc.metadata.name) {
    throw usage(`${opts.filename ?? ''} cannot have the same name as the existing ReplicationController ${oldName}`);
  }
  const oldSelector = specOf(oldRc).selector ?? {};
  const newSelector = specOf(newRc).selector ?? {};
  if (!Object.entries(oldSelector).some(([k, v]) => k in newSelector && newSelector[k] !== v)) {
    throw usage(`${opts.filename ?? ''} must specify a matching key with non-equal value in Selector for ${oldName}`);
  }
  if (replicasDefaulted) specOf(newRc).replicas = specOf(oldRc).replicas;
  if (opts.dryRun) {
    out(`Rolling from:\n${oldName}\nTo:\n${newRc.metadata.name}`);
    return undefined;
  }
  const config = {
    oldRc,
    newRc,
    namespace,
    updatePeriodMs: opts.updatePeriod * 1000,
    pollIntervalMs: opts.pollInterval * 1000,
    timeoutMs: opts.timeout * 1000,
    cleanup: keepOldName ? ('Rename' as const) : ('Delete' as const),
    out,
  };
  if (opts.rollback) {
    Object.assign(config, abort(oldRc, newRc, out));
    await client.update(RCS, namespace, config.newRc);
  }
  return new RollingUpdater(client).update(config);
}

/** With --image: the next controller found again (resuming) or made from the old one, and the old one prepared. */
async function prepareImageUpdate(
  client: ApiClient,
  old: KubeObject,
  nextName: string,
  opts: RollingUpdateOptions,
  out: (line: string) => void,
): Promise<{ oldRc: KubeObject; newRc: KubeObject }> {
  const { namespace } = opts;
  let newRc = await loadNext(client, namespace, nextName);
  if (newRc) {
    const image = specOf(newRc).template?.spec?.containers?.[0]?.image;
    if (image !== opts.image) {
      throw usage(
        `Found existing in-progress update to image (${image}).\nEither continue in-progress update with --image=${image} or rollback with --rollback`,
      );
    }
    out(`Found existing update in progress (${newRc.metadata.name}), resuming.`);
  } else {
    const sameImage = specOf(old).template?.spec?.containers?.[0]?.image === opts.image;
    if (sameImage && !opts.imagePullPolicy) {
      throw usage(
        '--image-pull-policy (Always|Never|IfNotPresent) must be provided when --image is the same as existing container image',
      );
    }
    newRc = await newControllerFromCurrent(client, {
      namespace,
      oldName: old.metadata.name ?? '',
      newName: nextName,
      image: opts.image ?? '',
      container: opts.container,
      deploymentKey: opts.deploymentLabelKey,
      pullPolicy: sameImage ? opts.imagePullPolicy : undefined,
    });
  }
  // If the new image is the old one, the hash may not tell them apart: hence the suffix.
  const oldHash = `${hashObject(old)}-orig`;
  if (opts.dryRun) {
    // What prepareOld would make of the old controller's selector, without writing it.
    const selector = { [opts.deploymentLabelKey]: oldHash, ...specOf(old).selector };
    return { oldRc: { ...old, spec: { ...specOf(old), selector } }, newRc };
  }
  const oldRc = await prepareOld(client, old, namespace, newRc.metadata.name ?? '', opts.deploymentLabelKey, oldHash);
  return { oldRc, newRc };
}

/** kubectl's AbortRollingUpdate: the two controllers swap roles; the old one goes back to its original size. */
function abort(
  oldRc: KubeObject,
  newRc: KubeObject,
  out: (line: string) => void,
): { oldRc: KubeObject; newRc: KubeObject; cleanup: 'Delete' } {
  const original = annotation(oldRc, ORIGINAL_REPLICAS);
  if (original === undefined) throw usage(`couldn't find original replica count of "${oldRc.metadata.name}"`);
  out(`Setting "${oldRc.metadata.name}" replicas to ${original}`);
  const target: KubeObject = {
    ...oldRc,
    metadata: {
      ...oldRc.metadata,
      annotations: {
        ...oldRc.metadata.annotations,
        [SOURCE_ID]: `${newRc.metadata.name}:${newRc.metadata.uid}`,
        [DESIRED_REPLICAS]: original,
      },
    },
  };
  return { oldRc: newRc, newRc: target, cleanup: 'Delete' };
}
