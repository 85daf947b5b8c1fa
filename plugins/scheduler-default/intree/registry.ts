/**
 * The in-tree scheduler plugins, by upstream's names, and upstream 1.32's default profile: every
 * default plugin enabled through multiPoint, with its score weight. Upstream plugins Skiff does
 * not implement (volume binding and limits need the storage kinds) are known by name, so a config
 * file that disables them, as upstream configs often do, is accepted.
 */
import { DefaultPreemption } from './default-preemption.js';
import { ImageLocality } from './image-locality.js';
import { InterPodAffinity } from './inter-pod-affinity.js';
import { NodeAffinity } from './node-affinity.js';
import { NodeResourcesBalancedAllocation, NodeResourcesFit } from './node-resources.js';
import { PodTopologySpread } from './pod-topology-spread.js';
import type { InTreePlugin } from './registry-types.js';
import { DefaultBinder, NodeName, NodePorts, NodeUnschedulable, PrioritySort, SchedulingGates } from './simple.js';
import { TaintToleration } from './taint-toleration.js';
import { VolumeRestrictions } from './volume-restrictions.js';

export const IN_TREE: ReadonlyMap<string, InTreePlugin> = new Map(
  [
    PrioritySort,
    SchedulingGates,
    NodeUnschedulable,
    NodeName,
    TaintToleration,
    NodeAffinity,
    NodePorts,
    NodeResourcesFit,
    VolumeRestrictions,
    PodTopologySpread,
    InterPodAffinity,
    DefaultPreemption,
    NodeResourcesBalancedAllocation,
    ImageLocality,
    DefaultBinder,
  ].map((p) => [p.name, p]),
);

/** Upstream in-tree plugins Skiff does not have: disabling them is fine, enabling them is an error. */
export const NOT_IMPLEMENTED = new Set([
  'NodeVolumeLimits',
  'VolumeBinding',
  'VolumeZone',
  'DynamicResources',
  'EBSLimits',
  'GCEPDLimits',
  'AzureDiskLimits',
  'CinderLimits',
]);

/** Upstream 1.32's default multiPoint plugins (getDefaultPlugins), in order, with weights. */
export const DEFAULT_PLUGINS: readonly { name: string; weight?: number }[] = [
  { name: 'SchedulingGates' },
  { name: 'PrioritySort' },
  { name: 'NodeUnschedulable' },
  { name: 'NodeName' },
  { name: 'TaintToleration', weight: 3 },
  { name: 'NodeAffinity', weight: 2 },
  { name: 'NodePorts' },
  { name: 'NodeResourcesFit', weight: 1 },
  { name: 'VolumeRestrictions' },
  { name: 'PodTopologySpread', weight: 2 },
  { name: 'InterPodAffinity', weight: 2 },
  { name: 'DefaultPreemption' },
  { name: 'NodeResourcesBalancedAllocation', weight: 1 },
  { name: 'ImageLocality', weight: 1 },
  { name: 'DefaultBinder' },
];
