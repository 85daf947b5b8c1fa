/**
 * What the pod machinery of one kubelet shares: its node, its API client, its runtime, where its
 * pods' files go, its event recorder and back-offs, and what it knows of services (for their
 * environment variables). One per kubelet; nothing here is module-level state.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { KubeObject } from 'skiff/sdk';
import type { ApiClient } from 'skiff/sdk/client';
import type { ContainerRuntime } from 'skiff/sdk/runtime';
import type { BackOff } from './backoff.js';
import type { KubeletConfig } from './config.js';
import type { EventRecorder } from './events.js';

export interface KubeletContext {
  readonly nodeName: string;
  readonly config: KubeletConfig;
  readonly client: ApiClient;
  readonly runtime: ContainerRuntime;
  /** This node's root dir: pods/, logs/, runtime/. */
  readonly rootDir: string;
  readonly logger: Logger;
  readonly events: EventRecorder;
  /** Container restarts (CrashLoopBackOff) and image pulls (ImagePullBackOff). */
  readonly restartBackOff: BackOff;
  readonly pullBackOff: BackOff;
  /** The registered Node, once it is. */
  node(): KubeObject | undefined;
  /** The node's InternalIP (status.hostIP of its pods). */
  nodeIP(): string | undefined;
  /** The services of a namespace and the kubernetes service, for pods' environment. */
  services(namespace: string): KubeObject[];
  /** Set once the kubelet is stopping: no new containers start, status writes stop. */
  readonly stopping: AbortSignal;
}

/** Upstream's layout: <root>/pods/<uid>/{volumes,containers,plugins}. */
export const podDir = (ctx: KubeletContext, uid: string) => join(ctx.rootDir, 'pods', uid);

/** Upstream's /var/log/pods/<namespace>_<name>_<uid>, under this node's root. */
export const podLogDir = (ctx: KubeletContext, namespace: string, name: string, uid: string) =>
  join(ctx.rootDir, 'logs', 'pods', `${namespace}_${name}_${uid}`);
