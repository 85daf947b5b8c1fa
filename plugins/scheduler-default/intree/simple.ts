/**
 * The small in-tree plugins: PrioritySort (queue order), SchedulingGates (PreEnqueue),
 * NodeUnschedulable, NodeName, NodePorts (Filter) and DefaultBinder (Bind), each as upstream's.
 */
import { Code, type QueuedPod, type Status, status } from 'skiff/sdk/scheduler';
import type { NodeInformation } from '../model/node-info.js';
import type { HostPort, PodInformation } from '../model/pod-info.js';
import { toleratesTaint } from '../model/taints.js';
import { objs } from './common.js';
import type { InTreePlugin } from './registry-types.js';

export const PrioritySort: InTreePlugin = {
  name: 'PrioritySort',
  factory: () => ({
    name: 'PrioritySort',
    // Higher priority first; equal priority: the one queued earlier.
    less: (a: QueuedPod, b: QueuedPod) =>
      a.info.priority > b.info.priority || (a.info.priority === b.info.priority && a.timestamp < b.timestamp),
  }),
};

export const SchedulingGates: InTreePlugin = {
  name: 'SchedulingGates',
  factory: () => ({
    name: 'SchedulingGates',
    preEnqueue(pod) {
      const raw = (pod as PodInformation).spec.schedulingGates;
      if (!Array.isArray(raw) || raw.length === 0) return undefined;
      const gates = objs(raw).map((g) => String(g.name));
      if (gates.length === 0) return undefined;
      return status(Code.UnschedulableAndUnresolvable, `waiting for scheduling gates: [${gates.join(' ')}]`);
    },
    events: () => [{ resource: 'Pod', actions: ['UpdatePodSchedulingGatesEliminated'] }],
  }),
};

const UNSCHEDULABLE_TAINT = { key: 'node.kubernetes.io/unschedulable', value: '', effect: 'NoSchedule' };
const UNSCHEDULABLE: Status = status(Code.UnschedulableAndUnresolvable, 'node(s) were unschedulable');

export const NodeUnschedulable: InTreePlugin = {
  name: 'NodeUnschedulable',
  factory: () => ({
    name: 'NodeUnschedulable',
    filter(_state, pod, node) {
      const n = node as NodeInformation;
      if (!n.unschedulable) return undefined;
      // Tolerating the unschedulable taint is tolerating spec.unschedulable too.
      if (toleratesTaint((pod as PodInformation).tolerations, UNSCHEDULABLE_TAINT)) return undefined;
      return UNSCHEDULABLE;
    },
    events: () => [
      { resource: 'Node', actions: ['Add', 'UpdateNodeTaint'] },
      { resource: 'Pod', actions: ['UpdatePodTolerations'] },
    ],
  }),
};

const SKIP: Status = status(Code.Skip);
const WRONG_NODE: Status = status(Code.UnschedulableAndUnresolvable, "node(s) didn't match the requested node name");

export const NodeName: InTreePlugin = {
  name: 'NodeName',
  factory: () => ({
    name: 'NodeName',
    // Not upstream's (it has no PreFilter): a pod naming no node passes on every node, so Filter
    // is skipped for it, which is what lets the hot path call three Filter plugins instead of four.
    preFilter: (_state, pod) => ((pod as PodInformation).spec.nodeName ? undefined : { status: SKIP }),
    filter(_state, pod, node) {
      const wanted = String((pod as PodInformation).spec.nodeName ?? '');
      return wanted === '' || wanted === node.name ? undefined : WRONG_NODE;
    },
    events: () => [{ resource: 'Node', actions: ['Add'] }],
  }),
};

const PORTS_KEY = 'PreFilterNodePorts';
const PORTS_TAKEN: Status = status(Code.Unschedulable, "node(s) didn't have free ports for the requested pod ports");

export const NodePorts: InTreePlugin = {
  name: 'NodePorts',
  factory: () => ({
    name: 'NodePorts',
    preFilter(state, pod) {
      const ports = (pod as PodInformation).hostPorts;
      if (ports.length === 0) return { status: status(Code.Skip) };
      state.write(PORTS_KEY, { ports } as { ports: HostPort[] });
      return undefined;
    },
    filter(state, pod, node) {
      const wanted = state.read<{ ports: HostPort[] }>(PORTS_KEY)?.ports ?? (pod as PodInformation).hostPorts;
      const used = (node as NodeInformation).usedPorts;
      for (const p of wanted) if (used.conflicts(p)) return PORTS_TAKEN;
      return undefined;
    },
    events: () => [
      { resource: 'Pod', actions: ['Delete'] },
      { resource: 'Node', actions: ['Add', 'Update'] },
    ],
  }),
};

export const DefaultBinder: InTreePlugin = {
  name: 'DefaultBinder',
  factory: (_args, handle) => ({
    name: 'DefaultBinder',
    async bind(_state, pod, nodeName) {
      if (!handle.client) return status(Code.Error, 'no API client to bind with');
      const binding = {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
        target: { kind: 'Node', name: nodeName },
      };
      await handle.client.create({ group: '', version: 'v1', resource: 'pods' }, pod.namespace, binding, {
        subresource: 'binding',
      });
      return undefined;
    },
  }),
};
