/**
 * What in-tree plugins get beyond the SDK's SchedulerPluginHandle: the scheduler's cache, its
 * profile's framework (preemption runs Filter on what-if copies of nodes), the nominator and the
 * event recorder. Third-party plugins get the SDK part only.
 */
import type { KubeObject } from 'skiff/sdk';
import type { SchedulerPluginHandle } from 'skiff/sdk/scheduler';
import type { SchedulerCache } from '../cache/cache.js';
import type { Framework } from './framework.js';
import type { Nominator } from './nominator.js';

export type ListedKind = Parameters<SchedulerPluginHandle['list']>[0] | 'persistentvolumeclaims';

/** Objects the scheduler watches besides pods and nodes, by kind. */
export interface Listers {
  list(kind: ListedKind): readonly KubeObject[];
  get(kind: ListedKind, namespace: string, name: string): KubeObject | undefined;
}

/** Events as the scheduler records them (see ../component/events.ts). */
export interface EventSink {
  record(
    regarding: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    action: string,
    note: string,
    related?: KubeObject,
  ): void;
}

export interface InternalHandle extends SchedulerPluginHandle {
  readonly cache: SchedulerCache;
  readonly nominator: Nominator;
  readonly listers: Listers;
  readonly events: EventSink;
  /** The framework of the profile this plugin belongs to (set once the profile is built). */
  framework(): Framework;
}
