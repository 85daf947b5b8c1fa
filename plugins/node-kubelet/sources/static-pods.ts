/**
 * Static pods (the seed: "every pod not created through the API server"): what upstream's config
 * sources do to a manifest read from a file or a URL (config/common.go applyDefaults) and how its
 * mirror pod in the API is made. A static pod is named `<name>-<node>`, defaults to the `default`
 * namespace, is bound to this node, tolerates every NoExecute taint, and gets a uid that hashes the
 * node, its source and its content, which also goes into the config.hash annotation.
 */
import { createHash } from 'node:crypto';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from 'skiff/sdk';

export const ANNOTATIONS = Object.freeze({
  source: 'kubernetes.io/config.source',
  hash: 'kubernetes.io/config.hash',
  seen: 'kubernetes.io/config.seen',
  mirror: 'kubernetes.io/config.mirror',
});

export type SourceName = 'file' | 'http' | 'api';

/** Why a manifest was not taken; logged, as upstream logs it. */
export class ManifestError extends Error {}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A manifest from a file (`origin` = its path) or a URL, as the static pod this node runs. */
export function toStaticPod(raw: unknown, nodeName: string, source: 'file' | 'http', origin: string): Pod {
  const obj = raw as KubeObject;
  if (!obj || typeof obj !== 'object') throw new ManifestError('not an object');
  if (obj.kind !== 'Pod' || (obj.apiVersion !== 'v1' && obj.apiVersion !== undefined)) {
    throw new ManifestError(`kind ${String(obj.kind)} (apiVersion ${String(obj.apiVersion)}) is not a v1 Pod`);
  }
  // A plain copy to fill in (kubernetes-types' objects are read-only).
  // biome-ignore lint/suspicious/noExplicitAny: a manifest being filled in, checked by the API when mirrored
  type Loose = Record<string, any>;
  const pod = structuredClone(obj) as unknown as {
    metadata?: Loose;
    spec?: Loose;
    status?: unknown;
  };
  pod.metadata ??= {};
  const meta = pod.metadata;
  if (!meta.name) throw new ManifestError('metadata.name is missing');
  const spec = pod.spec;
  if (!spec?.containers?.length) throw new ManifestError('spec.containers is empty');
  const hasher = createHash('md5');
  hasher.update(source === 'file' ? `host:${nodeName}file:${origin}` : `url:${origin}`);
  hasher.update(stableJson(obj));
  const uid = hasher.digest('hex');
  meta.uid = uid;
  meta.name = `${meta.name}-${nodeName.toLowerCase()}`;
  meta.namespace ||= 'default';
  meta.annotations = {
    ...meta.annotations,
    [ANNOTATIONS.hash]: uid,
    [ANNOTATIONS.source]: source,
    [ANNOTATIONS.seen]: new Date().toISOString(),
  };
  spec.nodeName = nodeName;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.tolerations = [...(spec.tolerations ?? []), { operator: 'Exists', effect: 'NoExecute' }];
  pod.status = { phase: 'Pending' };
  return pod as Pod;
}

export const isStaticPod = (pod: Pod) => {
  const source = pod.metadata?.annotations?.[ANNOTATIONS.source];
  return source === 'file' || source === 'http';
};

export const isMirrorPod = (pod: Pod | KubeObject) =>
  (pod.metadata?.annotations as Record<string, string> | undefined)?.[ANNOTATIONS.mirror] !== undefined;

export const fullName = (pod: Pod | KubeObject) =>
  `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;

/** The mirror pod of a static pod: same spec, the mirror annotation, owned by the Node (as NodeRestriction requires). */
export function mirrorOf(pod: Pod, node: KubeObject): KubeObject {
  const { uid: _, resourceVersion: __, ...meta } = pod.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...meta,
      annotations: { ...meta.annotations, [ANNOTATIONS.mirror]: meta.annotations?.[ANNOTATIONS.hash] ?? '' },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Node', name: node.metadata.name!, uid: node.metadata.uid!, controller: true },
      ],
    },
    spec: pod.spec,
  } as KubeObject;
}

/** Whether the mirror pod still reflects the static pod (same hash, not being deleted). */
export function mirrorMatches(mirror: KubeObject, pod: Pod): boolean {
  const annotations = (mirror.metadata.annotations ?? {}) as Record<string, string>;
  return (
    !mirror.metadata.deletionTimestamp &&
    annotations[ANNOTATIONS.mirror] === pod.metadata?.annotations?.[ANNOTATIONS.hash]
  );
}
