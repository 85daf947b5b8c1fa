/**
 * The seed's steps 3 and 4: mount the pod's volumes and fetch the secrets they need. Each volume is
 * a directory under <root>/pods/<uid>/volumes/<plugin>/<name> (upstream's layout) that the runtime
 * binds at every mountPath. configMap, secret, downwardAPI and projected volumes are written from
 * the API (missing objects block the pod with upstream's FailedMount message); emptyDir with
 * medium Memory is a tmpfs when this process may mount one; hostPath is checked by its type.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import type { Container, Pod, Volume } from 'kubernetes-types/core/v1.js';
import { isStatusError, type KubeObject } from 'skiff/sdk';
import { CORE_V1 } from 'skiff/sdk/client';
import type { Mount } from 'skiff/sdk/runtime';
import { type KubeletContext, podDir } from './context.js';
import { downwardValue } from './downward.js';

const run = promisify(execFile);
const DEFAULT_MODE = 0o644;

/** A volume that cannot be set up: the pod waits (ContainerCreating), with a FailedMount event. */
export class MountError extends Error {
  constructor(
    readonly volume: string,
    readonly detail: string,
  ) {
    super(`MountVolume.SetUp failed for volume "${volume}" : ${detail}`);
  }
}

interface FileContent {
  data: Buffer;
  mode: number;
}

type Files = Map<string, FileContent>;

const PLUGIN_DIRS: Record<string, string> = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
};

/** Bound service-account tokens already issued: refreshed at 80% of their life, as upstream. */
export class TokenCache {
  private readonly tokens = new Map<string, { token: string; refreshAt: number }>();
  get(key: string): string | undefined {
    const t = this.tokens.get(key);
    return t && t.refreshAt > Date.now() ? t.token : undefined;
  }
  set(key: string, token: string, expiresInMs: number): void {
    this.tokens.set(key, { token, refreshAt: Date.now() + expiresInMs * 0.8 });
  }
  forget(uid: string): void {
    for (const key of this.tokens.keys()) if (key.startsWith(`${uid}/`)) this.tokens.delete(key);
  }
}

/** Sets up every volume of the pod; the host directory of each, by volume name. */
export async function prepareVolumes(ctx: KubeletContext, pod: Pod, tokens: TokenCache): Promise<Map<string, string>> {
  const dirs = new Map<string, string>();
  for (const volume of pod.spec?.volumes ?? []) {
    try {
      dirs.set(volume.name, await prepareVolume(ctx, pod, volume, tokens));
    } catch (err) {
      // The readers of ConfigMaps and Secrets do not know which volume asked.
      if (err instanceof MountError && !err.volume) throw new MountError(volume.name, err.detail);
      throw err;
    }
  }
  return dirs;
}

async function prepareVolume(ctx: KubeletContext, pod: Pod, volume: Volume, tokens: TokenCache): Promise<string> {
  if (volume.hostPath) return checkHostPath(volume.name, volume.hostPath.path, volume.hostPath.type ?? '');
  const kind = Object.keys(PLUGIN_DIRS).find((k) => (volume as unknown as Record<string, unknown>)[k]);
  if (!kind) {
    const type = Object.keys(volume).find((k) => k !== 'name') ?? 'unknown';
    throw new MountError(
      volume.name,
      `volume type ${type} is not supported by this node (Skiff runs emptyDir, hostPath, configMap, secret, downwardAPI and projected volumes)`,
    );
  }
  const dir = join(podDir(ctx, pod.metadata?.uid ?? ''), 'volumes', PLUGIN_DIRS[kind]!, volume.name);
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  if (volume.emptyDir) {
    if (volume.emptyDir.medium === 'Memory') await mountTmpfs(dir, volume.emptyDir.sizeLimit);
    chmodSync(dir, 0o777);
    return dir;
  }
  const files = await volumeFiles(ctx, pod, volume, tokens);
  if (files) writeFiles(dir, files);
  return dir;
}

async function volumeFiles(
  ctx: KubeletContext,
  pod: Pod,
  volume: Volume,
  tokens: TokenCache,
): Promise<Files | undefined> {
  const mode = (m: number | undefined) => m ?? DEFAULT_MODE;
  if (volume.configMap) {
    const { name = '', items, optional, defaultMode } = volume.configMap;
    return keyFiles(
      volume.name,
      await configMapData(ctx, pod, name, optional),
      items,
      mode(defaultMode),
      'configmap references non-existent config key',
    );
  }
  if (volume.secret) {
    const { secretName = '', items, optional, defaultMode } = volume.secret;
    return keyFiles(
      volume.name,
      await secretData(ctx, pod, secretName, optional),
      items,
      mode(defaultMode),
      'references non-existent secret key',
    );
  }
  if (volume.downwardAPI) {
    const files: Files = new Map();
    for (const item of volume.downwardAPI.items ?? []) {
      files.set(item.path, {
        data: Buffer.from(downwardValue(ctx, pod, item, undefined)),
        mode: item.mode ?? mode(volume.downwardAPI.defaultMode),
      });
    }
    return files;
  }
  if (volume.projected) return projectedFiles(ctx, pod, volume, tokens);
  return undefined;
}

async function projectedFiles(ctx: KubeletContext, pod: Pod, volume: Volume, tokens: TokenCache): Promise<Files> {
  const projected = volume.projected!;
  const defaultMode = projected.defaultMode ?? DEFAULT_MODE;
  const files: Files = new Map();
  for (const source of projected.sources ?? []) {
    let part: Files | undefined;
    if (source.configMap) {
      const { name = '', items, optional } = source.configMap;
      part = keyFiles(
        volume.name,
        await configMapData(ctx, pod, name, optional),
        items,
        defaultMode,
        'configmap references non-existent config key',
      );
    } else if (source.secret) {
      const { name = '', items, optional } = source.secret;
      part = keyFiles(
        volume.name,
        await secretData(ctx, pod, name, optional),
        items,
        defaultMode,
        'references non-existent secret key',
      );
    } else if (source.downwardAPI) {
      part = new Map(
        (source.downwardAPI.items ?? []).map((item) => [
          item.path,
          { data: Buffer.from(downwardValue(ctx, pod, item, undefined)), mode: item.mode ?? defaultMode },
        ]),
      );
    } else if (source.serviceAccountToken) {
      const { path, audience, expirationSeconds } = source.serviceAccountToken;
      const token = await serviceAccountToken(ctx, pod, volume.name, tokens, audience, expirationSeconds ?? 3600);
      part = new Map([[path, { data: Buffer.from(token), mode: defaultMode }]]);
    } else {
      throw new MountError(volume.name, 'this projected volume source is not supported by this node');
    }
    for (const [path, content] of part ?? []) files.set(path, content);
  }
  return files;
}

/** `data` of a ConfigMap (with binaryData), or undefined when optional and missing. */
async function configMapData(
  ctx: KubeletContext,
  pod: Pod,
  name: string,
  optional?: boolean,
): Promise<Map<string, Buffer> | undefined> {
  const cm = await fetchObject(ctx, pod, 'configmaps', name);
  if (!cm) {
    if (optional) return undefined;
    throw new MountError('', `configmap "${name}" not found`);
  }
  const data = new Map<string, Buffer>();
  for (const [k, v] of Object.entries((cm.data ?? {}) as Record<string, string>)) data.set(k, Buffer.from(v));
  for (const [k, v] of Object.entries((cm.binaryData ?? {}) as Record<string, string>))
    data.set(k, Buffer.from(v, 'base64'));
  return data;
}

async function secretData(
  ctx: KubeletContext,
  pod: Pod,
  name: string,
  optional?: boolean,
): Promise<Map<string, Buffer> | undefined> {
  const secret = await fetchObject(ctx, pod, 'secrets', name);
  if (!secret) {
    if (optional) return undefined;
    throw new MountError('', `secret "${name}" not found`);
  }
  return new Map(
    Object.entries((secret.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  );
}

/** A ConfigMap or Secret of the pod's namespace (a GET: the Node authorizer allows what the pod names). */
export async function fetchObject(
  ctx: KubeletContext,
  pod: Pod,
  resource: string,
  name: string,
): Promise<KubeObject | undefined> {
  try {
    return await ctx.client.get(CORE_V1(resource), pod.metadata?.namespace ?? 'default', name);
  } catch (err) {
    if (isStatusError(err) && err.code === 404) return undefined;
    throw err;
  }
}

function keyFiles(
  volume: string,
  data: Map<string, Buffer> | undefined,
  items: { key: string; path: string; mode?: number }[] | undefined,
  mode: number,
  missingKey: string,
): Files {
  const files: Files = new Map();
  if (!data) return files;
  if (!items?.length) {
    for (const [key, value] of data) files.set(key, { data: value, mode });
    return files;
  }
  for (const item of items) {
    const value = data.get(item.key);
    if (value === undefined) throw new MountError(volume, `${missingKey}: ${item.key}`);
    files.set(item.path, { data: value, mode: item.mode ?? mode });
  }
  return files;
}

async function serviceAccountToken(
  ctx: KubeletContext,
  pod: Pod,
  volume: string,
  tokens: TokenCache,
  audience: string | undefined,
  expirationSeconds: number,
): Promise<string> {
  const uid = pod.metadata?.uid ?? '';
  const account = pod.spec?.serviceAccountName || 'default';
  const key = `${uid}/${volume}/${audience ?? ''}`;
  const cached = tokens.get(key);
  if (cached) return cached;
  const request = {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    metadata: { name: account, namespace: pod.metadata?.namespace },
    spec: {
      ...(audience ? { audiences: [audience] } : {}),
      expirationSeconds,
      boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid },
    },
  };
  try {
    const answer = await ctx.client.create(
      CORE_V1('serviceaccounts'),
      pod.metadata?.namespace ?? 'default',
      request as KubeObject,
      {
        subresource: 'token',
      },
    );
    const status = answer.status as { token: string; expirationTimestamp?: string };
    const expires = status.expirationTimestamp
      ? Date.parse(status.expirationTimestamp) - Date.now()
      : expirationSeconds * 1000;
    tokens.set(key, status.token, expires);
    return status.token;
  } catch (err) {
    throw new MountError(volume, `failed to fetch token: ${(err as Error).message}`);
  }
}

/** Writes the volume's files (only those that changed) and removes files no longer in it. */
function writeFiles(dir: string, files: Files): void {
  for (const [path, content] of files) {
    const target = join(dir, path);
    if (relative(dir, target).startsWith('..')) continue;
    mkdirSync(dirname(target), { recursive: true });
    let same = false;
    try {
      same = readFileSync(target).equals(content.data) && (statSync(target).mode & 0o777) === content.mode;
    } catch {}
    if (same) continue;
    writeFileSync(target, content.data);
    chmodSync(target, content.mode);
  }
  const wanted = new Set([...files.keys()].map((p) => join(dir, p)));
  for (const entry of readdirSync(dir, { recursive: true }) as string[]) {
    const full = join(dir, entry);
    if (!wanted.has(full) && statSync(full, { throwIfNoEntry: false })?.isFile()) rmSync(full, { force: true });
  }
}

const HOST_PATH_CHECKS: Record<string, [(s: ReturnType<typeof statSync>) => boolean, string]> = {
  Directory: [(s) => Boolean(s?.isDirectory()), 'is not a directory'],
  File: [(s) => Boolean(s?.isFile()), 'is not a file'],
  Socket: [(s) => Boolean(s?.isSocket()), 'is not a socket file'],
  CharDevice: [(s) => Boolean(s?.isCharacterDevice()), 'is not a character device'],
  BlockDevice: [(s) => Boolean(s?.isBlockDevice()), 'is not a block device'],
};

function checkHostPath(volume: string, path: string, type: string): string {
  if (type === 'DirectoryOrCreate' && !existsSync(path)) mkdirSync(path, { recursive: true, mode: 0o755 });
  if (type === 'FileOrCreate' && !existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, '', { mode: 0o644 });
  }
  const check = HOST_PATH_CHECKS[type.replace(/OrCreate$/, '')];
  if (check && !check[0](statSync(path, { throwIfNoEntry: false }))) {
    throw new MountError(volume, `hostPath type check failed: ${path} ${check[1]}`);
  }
  return path;
}

function isMountPoint(dir: string): boolean {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .some((line) => line.split(' ')[1] === dir);
  } catch {
    return false;
  }
}

/** emptyDir medium Memory: a tmpfs when this process may mount one (root), else a plain directory. */
async function mountTmpfs(dir: string, sizeLimit: string | undefined): Promise<void> {
  if (process.getuid?.() !== 0 || isMountPoint(dir)) return;
  const size = sizeLimit ? `,size=${sizeLimit.replace(/i$/, '')}` : '';
  await run('mount', ['-t', 'tmpfs', '-o', `mode=0777${size}`, 'tmpfs', dir]).catch(() => undefined);
}

/** Removes the pod's directory, unmounting any tmpfs under it first. */
export async function removePodDir(ctx: KubeletContext, uid: string): Promise<void> {
  const dir = podDir(ctx, uid);
  if (!existsSync(dir)) return;
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${dir}/`));
  for (const m of mounts.reverse()) await run('umount', ['-l', m]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

/** The container's volumeMounts as runtime mounts (subPath inside the volume's directory). */
export function mountsFor(container: Container, dirs: Map<string, string>): Mount[] {
  return (container.volumeMounts ?? []).flatMap((m) => {
    const base = dirs.get(m.name);
    if (!base) return [];
    const hostPath = m.subPath ? join(base, m.subPath) : base;
    if (m.subPath && relative(base, hostPath).startsWith('..')) return [];
    // As upstream, a subPath that does not exist yet is made a directory of the volume.
    if (m.subPath && !existsSync(hostPath)) mkdirSync(hostPath, { recursive: true, mode: 0o777 });
    return [{ containerPath: m.mountPath, hostPath, readonly: m.readOnly ?? false }];
  });
}
