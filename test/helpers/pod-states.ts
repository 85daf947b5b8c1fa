/**
 * Playing the scheduler and the kubelet for controller tests: pods need not run; a test binds them
 * to nodes (which exist only as objects) and writes their phase and Ready condition through the
 * status subresource, as a kubelet would.
 */
import type { PodCondition } from 'kubernetes-types/core/v1.js';
import { api } from './server.js';

const podPath = (ns: string, name = '') => `/api/v1/namespaces/${ns}/pods${name ? `/${name}` : ''}`;
const MERGE = { 'Content-Type': 'application/merge-patch+json' };

export async function createNodes(base: string, names: string[]): Promise<void> {
  for (const name of names) {
    const r = await api(base, 'POST', '/api/v1/nodes', { metadata: { name } });
    if (r.status !== 201 && r.status !== 409) throw new Error(`node ${name}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

export async function bindPod(base: string, ns: string, pod: string, node: string): Promise<void> {
  const r = await api(base, 'POST', `${podPath(ns, pod)}/binding`, {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: pod },
    target: { kind: 'Node', name: node },
  });
  if (r.status !== 201) throw new Error(`bind ${pod}: ${r.status} ${JSON.stringify(r.body)}`);
}

export interface PodState {
  phase?: 'Pending' | 'Running' | 'Unknown';
  ready?: boolean;
  /** When the pod became ready (default: now). */
  readySince?: Date;
  restarts?: number;
}

/** Writes the pod's status as a kubelet would: phase, the Ready condition, container restarts. */
export async function setPodState(base: string, ns: string, pod: string, state: PodState): Promise<void> {
  const since = (state.readySince ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  const status: Record<string, unknown> = {
    phase: state.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: state.ready ? 'True' : 'False', lastTransitionTime: since }],
  };
  if (state.restarts !== undefined) {
    status.containerStatuses = [
      { name: 'app', restartCount: state.restarts, ready: Boolean(state.ready), image: 'x', imageID: '' },
    ];
  }
  const r = await api(base, 'PATCH', `${podPath(ns, pod)}/status`, { status }, MERGE);
  if (r.status !== 200) throw new Error(`status of ${pod}: ${r.status} ${JSON.stringify(r.body)}`);
}

export async function markReady(base: string, ns: string, pod: string, readySince?: Date): Promise<void> {
  await setPodState(base, ns, pod, { phase: 'Running', ready: true, readySince });
}

export interface PodSummary {
  name: string;
  uid: string;
  labels: Record<string, string>;
  owner?: { kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean };
  deleting: boolean;
}

/** The fields of a listed pod these helpers read. */
interface ListedPod {
  metadata: {
    name: string;
    uid: string;
    labels?: Record<string, string>;
    ownerReferences?: NonNullable<PodSummary['owner']>[];
    deletionTimestamp?: string;
  };
  status?: { conditions?: PodCondition[] };
}

export async function listPods(base: string, ns: string, labelSelector = ''): Promise<PodSummary[]> {
  const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
  const r = await api(base, 'GET', `${podPath(ns)}${query}`);
  if (r.status !== 200) throw new Error(`list pods: ${r.status}`);
  return (r.body.items as ListedPod[]).map((p) => ({
    name: p.metadata.name,
    uid: p.metadata.uid,
    labels: p.metadata.labels ?? {},
    owner: (p.metadata.ownerReferences ?? []).find((o) => o.controller),
    deleting: Boolean(p.metadata.deletionTimestamp),
  }));
}

/** Marks every pod of the selector that is not ready yet Running and Ready (a kubelet that starts everything). */
export async function readyAll(base: string, ns: string, labelSelector: string): Promise<number> {
  const r = await api(base, 'GET', `${podPath(ns)}?labelSelector=${encodeURIComponent(labelSelector)}`);
  let marked = 0;
  for (const p of r.body.items as ListedPod[]) {
    const ready = (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    if (ready || p.metadata.deletionTimestamp) continue;
    await markReady(base, ns, p.metadata.name);
    marked++;
  }
  return marked;
}
