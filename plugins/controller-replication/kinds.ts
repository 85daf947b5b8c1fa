/**
 * The two kinds one replica controller serves, as upstream runs one ReplicaSet controller twice
 * (the ReplicationController manager wraps it): what differs is the resource, the selector's form
 * (a label map for RCs, a metav1.LabelSelector for ReplicaSets) and the names in events and logs.
 */
import type { KubeObject, ResourceRef } from 'skiff/sdk';
import {
  type KindRef,
  type LabelSelector,
  type LabelSelectorObject,
  labelSelectorFromObject,
  selectorFromSet,
} from 'skiff/sdk/controller';

export interface ReplicaKind extends KindRef {
  ref: ResourceRef;
  /** The registration name, as upstream's --controllers names it. */
  controller: 'replicationcontroller' | 'replicaset';
  /** The Events' source.component. */
  component: string;
  /** The object's selector, or undefined when it does not parse (then it selects nothing). */
  selector(obj: KubeObject): LabelSelector | undefined;
}

const specSelector = (obj: KubeObject) => (obj.spec as { selector?: unknown } | undefined)?.selector;

export const REPLICATION_CONTROLLERS: ReplicaKind = {
  apiVersion: 'v1',
  kind: 'ReplicationController',
  ref: { group: '', version: 'v1', resource: 'replicationcontrollers' },
  controller: 'replicationcontroller',
  component: 'replication-controller',
  selector: (obj) => {
    const set = specSelector(obj) as Record<string, string> | undefined;
    // An RC with no selector selects nothing (validation defaults it from the template).
    return set && Object.keys(set).length ? selectorFromSet(set) : undefined;
  },
};

export const REPLICA_SETS: ReplicaKind = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  ref: { group: 'apps', version: 'v1', resource: 'replicasets' },
  controller: 'replicaset',
  component: 'replicaset-controller',
  selector: (obj) => {
    const selector = specSelector(obj) as LabelSelectorObject | undefined;
    if (!selector) return undefined;
    try {
      return labelSelectorFromObject(selector);
    } catch {
      return undefined;
    }
  },
};
