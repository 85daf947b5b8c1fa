/**
 * scheduler_perf's workloads (test/integration/scheduler_perf/config/performance-config.yaml and
 * its templates), written out: node-default (4 CPU, 32 GiB, 110 pods, Ready), pod-default (a pause
 * container requesting 100m and 500 MiB), pod-with-pod-affinity (required affinity to color=blue
 * in the zone, namespaces sched-1 and sched-0), pod-with-topology-spreading (maxSkew 5 across
 * zones, DoNotSchedule).
 */
import type { KubeObject } from '../../core/api/types.js';

export interface Shape {
  name: string;
  namespaces: string[];
  nodes(): KubeObject[];
  warmUpPods(): KubeObject[];
  measuredPods(): KubeObject[];
}

function node(i: number, labels: Record<string, string>): KubeObject {
  const name = `scheduler-perf-${i}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: {},
    status: {
      capacity: { pods: '110', cpu: '4', memory: '32Gi' },
      allocatable: { pods: '110', cpu: '4', memory: '32Gi' },
      conditions: [{ type: 'Ready', status: 'True' }],
      phase: 'Running',
    },
  } as KubeObject;
}

const RESOURCES = { limits: { cpu: '100m', memory: '500Mi' }, requests: { cpu: '100m', memory: '500Mi' } };

function pod(
  name: string,
  namespace: string,
  extra: { labels?: Record<string, string>; spec?: Record<string, unknown> } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: extra.labels ?? {} },
    spec: {
      containers: [
        { image: 'registry.k8s.io/pause:3.10', name: 'pause', ports: [{ containerPort: 80 }], resources: RESOURCES },
      ],
      ...extra.spec,
    },
  } as KubeObject;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const affinityPod = (name: string, namespace: string) =>
  pod(name, namespace, {
    labels: { color: 'blue' },
    spec: {
      affinity: {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              labelSelector: { matchLabels: { color: 'blue' } },
              topologyKey: 'topology.kubernetes.io/zone',
              namespaces: ['sched-1', 'sched-0'],
            },
          ],
        },
      },
    },
  });

const spreadingPod = (name: string) =>
  pod(name, 'default', {
    labels: { color: 'blue' },
    spec: {
      topologySpreadConstraints: [
        {
          maxSkew: 5,
          topologyKey: 'topology.kubernetes.io/zone',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: { color: 'blue' } },
        },
      ],
    },
  });

const ZONES = ['moon-1', 'moon-2', 'moon-3'];

export const SHAPES: Shape[] = [
  {
    name: 'SchedulingBasic 5000 nodes, 1000+10000 pods',
    namespaces: [],
    nodes: () => range(5000).map((i) => node(i, {})),
    warmUpPods: () => range(1000).map((i) => pod(`init-${i}`, 'default')),
    measuredPods: () => range(10000).map((i) => pod(`measured-${i}`, 'default')),
  },
  {
    name: 'SchedulingPodAffinity 1000 nodes, 1000+1000 pods',
    namespaces: ['sched-0', 'sched-1'],
    nodes: () => range(1000).map((i) => node(i, { 'topology.kubernetes.io/zone': 'zone1' })),
    warmUpPods: () => range(1000).map((i) => affinityPod(`init-${i}`, 'sched-0')),
    measuredPods: () => range(1000).map((i) => affinityPod(`measured-${i}`, 'sched-1')),
  },
  {
    name: 'SchedulingPodTopologySpread 1000 nodes, 1000+1000 pods',
    namespaces: [],
    nodes: () => range(1000).map((i) => node(i, { 'topology.kubernetes.io/zone': ZONES[i % 3]! })),
    warmUpPods: () => range(1000).map((i) => pod(`init-${i}`, 'default')),
    measuredPods: () => range(1000).map((i) => spreadingPod(`measured-${i}`)),
  },
];
