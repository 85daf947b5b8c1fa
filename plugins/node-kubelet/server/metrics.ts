/**
 * /metrics: the kubelet's own metrics, on a prom-client registry of this kubelet (several run in
 * one `skiff up` process, so never the global one), with upstream's names: kubelet_node_name,
 * kubelet_running_pods, kubelet_running_containers{container_state},
 * kubelet_pod_start_duration_seconds, kubelet_http_requests_total and
 * kubelet_http_inflight_requests. Pod and container counts are read from the runtime when scraped.
 * A pod's start duration (its status.startTime, when the kubelet first saw it, to the last of its
 * containers' start) is observed at the first scrape that finds all its containers running.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ContainerRuntime } from 'skiff/sdk/runtime';

/** Upstream's buckets for kubelet_pod_start_duration_seconds. */
const START_BUCKETS = [
  0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600,
];
const LONG_RUNNING = new Set(['exec', 'attach', 'portForward']);
const BUCKETS = new Set([
  'healthz',
  'pods',
  'stats',
  'metrics',
  'metrics/resource',
  'spec',
  'logs',
  'containerLogs',
  'runningpods',
  'run',
  'exec',
  'attach',
  'portForward',
]);

export interface MetricsSource {
  readonly nodeName: string;
  readonly runtime: ContainerRuntime;
  pods(): Pod[];
}

/** Upstream's getMetricBucket: the first path segment (two for /metrics/…), else "other". */
function bucketOf(path: string): string {
  const parts = path.replace(/^\//, '').split('/');
  const root = parts[0] === 'metrics' && parts[1] ? `metrics/${parts[1]}` : (parts[0] ?? '');
  return BUCKETS.has(root) ? root : 'other';
}

export class KubeletMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<string>;
  private readonly inflight: Gauge<string>;
  private readonly startDuration: Histogram<string>;
  private readonly observed = new Set<string>();

  constructor(private readonly source: MetricsSource) {
    const registers = [this.registry];
    new Gauge({
      name: 'kubelet_node_name',
      help: "[ALPHA] The node's name. The count is always 1.",
      labelNames: ['node'],
      registers,
    }).set({ node: source.nodeName }, 1);
    new Gauge({
      name: 'kubelet_running_pods',
      help: '[ALPHA] Number of pods that have a running pod sandbox',
      registers,
      async collect() {
        this.set((await source.runtime.listPodSandboxes({ state: 'ready' })).length);
      },
    });
    new Gauge({
      name: 'kubelet_running_containers',
      help: '[ALPHA] Number of containers currently running',
      labelNames: ['container_state'],
      registers,
      async collect() {
        const counts: Record<string, number> = { created: 0, running: 0, exited: 0, unknown: 0 };
        for (const c of await source.runtime.listContainers()) counts[c.state] = (counts[c.state] ?? 0) + 1;
        for (const [state, n] of Object.entries(counts)) this.set({ container_state: state }, n);
      },
    });
    this.startDuration = new Histogram({
      name: 'kubelet_pod_start_duration_seconds',
      help: '[ALPHA] Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run',
      buckets: START_BUCKETS,
      registers,
      collect: () => this.observeStarts(),
    });
    const labelNames = ['method', 'path', 'server_type', 'long_running'];
    this.requests = new Counter({
      name: 'kubelet_http_requests_total',
      help: '[ALPHA] Number of the http requests received since the server started',
      labelNames,
      registers,
    });
    this.inflight = new Gauge({
      name: 'kubelet_http_inflight_requests',
      help: '[ALPHA] Number of the inflight http requests',
      labelNames,
      registers,
    });
  }

  /** Counts a request; call the returned function when it ends. */
  request(method: string, path: string, serverType: 'readonly' | 'readwrite'): () => void {
    const bucket = bucketOf(path);
    const labels = { method, path: bucket, server_type: serverType, long_running: String(LONG_RUNNING.has(bucket)) };
    this.requests.inc(labels);
    this.inflight.inc(labels);
    return () => this.inflight.dec(labels);
  }

  private observeStarts(): void {
    const seen = new Set<string>();
    for (const pod of this.source.pods()) {
      const uid = pod.metadata?.uid ?? '';
      seen.add(uid);
      if (this.observed.has(uid)) continue;
      const duration = startDuration(pod);
      if (duration === undefined) continue;
      this.observed.add(uid);
      this.startDuration.observe(duration);
    }
    for (const uid of this.observed) if (!seen.has(uid)) this.observed.delete(uid);
  }
}

/** Seconds from status.startTime to the latest container start, once every container runs. */
function startDuration(pod: Pod): number | undefined {
  const begun = pod.status?.startTime;
  const statuses = pod.status?.containerStatuses ?? [];
  if (!begun || !statuses.length || statuses.length < (pod.spec?.containers.length ?? 0)) return undefined;
  const started = statuses.map((s) => s.state?.running?.startedAt);
  if (started.some((s) => !s)) return undefined;
  const last = Math.max(...started.map((s) => Date.parse(s!)));
  return Math.max(0, (last - Date.parse(begun)) / 1000);
}
