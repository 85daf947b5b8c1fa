/**
 * /metrics/resource: upstream's resource metrics (pkg/kubelet/metrics/collectors/resource_metrics.go)
 * in the Prometheus text format, which metrics-server scrapes for `kubectl top`: node, pod and
 * container CPU time and working set, container start times, and whether the scrape failed. Each
 * sample carries the time it was taken (milliseconds), as upstream's lazy metrics with timestamps.
 */
import type { Sample } from './provider.js';

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: string[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labels(container: string | undefined, namespace: string, pod: string): string {
  const pairs = [
    ...(container !== undefined ? [['container', container]] : []),
    ['namespace', namespace],
    ['pod', pod],
  ];
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v!)}"`).join(',')}}`;
}

const line = (name: string, labelText: string, value: number, at: Date) =>
  `${name}${labelText} ${value} ${at.getTime()}`;

export function resourceMetrics(sample: Sample | undefined, failed: boolean): string {
  const at = sample?.time ?? new Date();
  const family = (name: string, type: Family['type'], help: string): Family => ({ name, type, help, samples: [] });
  const containerCpu = family(
    'container_cpu_usage_seconds_total',
    'counter',
    '[STABLE] Cumulative cpu time consumed by the container in core-seconds',
  );
  const containerMemory = family(
    'container_memory_working_set_bytes',
    'gauge',
    '[STABLE] Current working set of the container in bytes',
  );
  const containerStart = family(
    'container_start_time_seconds',
    'gauge',
    '[STABLE] Start time of the container since unix epoch in seconds',
  );
  const nodeCpu = family(
    'node_cpu_usage_seconds_total',
    'counter',
    '[STABLE] Cumulative cpu time consumed by the node in core-seconds',
  );
  const nodeMemory = family(
    'node_memory_working_set_bytes',
    'gauge',
    '[STABLE] Current working set of the node in bytes',
  );
  const podCpu = family(
    'pod_cpu_usage_seconds_total',
    'counter',
    '[STABLE] Cumulative cpu time consumed by the pod in core-seconds',
  );
  const podMemory = family('pod_memory_working_set_bytes', 'gauge', '[STABLE] Current working set of the pod in bytes');
  const resourceError = family(
    'resource_scrape_error',
    'gauge',
    '[STABLE] 1 if there was an error while getting container metrics, 0 otherwise',
  );
  const scrapeError = family(
    'scrape_error',
    'gauge',
    '[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise',
  );
  const error = failed || (sample?.error ?? false) ? 1 : 0;
  resourceError.samples.push(`resource_scrape_error ${error}`);
  scrapeError.samples.push(`scrape_error ${error}`);
  if (sample) {
    nodeCpu.samples.push(line(nodeCpu.name, '', sample.node.cpu.usageCoreNanoSeconds / 1e9, at));
    nodeMemory.samples.push(line(nodeMemory.name, '', sample.node.memory.workingSetBytes, at));
    for (const pod of sample.pods) {
      const podLabels = labels(undefined, pod.namespace, pod.name);
      podCpu.samples.push(line(podCpu.name, podLabels, pod.cpu.usageCoreNanoSeconds / 1e9, at));
      podMemory.samples.push(line(podMemory.name, podLabels, pod.sandbox.memory.workingSetBytes, at));
      for (const c of pod.containers) {
        const l = labels(c.name, pod.namespace, pod.name);
        containerCpu.samples.push(line(containerCpu.name, l, c.cpu.usageCoreNanoSeconds / 1e9, at));
        containerMemory.samples.push(line(containerMemory.name, l, c.stats.memory.workingSetBytes, at));
        const started = new Date(c.startTime);
        if (started.getTime() > 0)
          containerStart.samples.push(line(containerStart.name, l, started.getTime() / 1000, started));
      }
    }
  }
  const families = [
    containerCpu,
    containerMemory,
    containerStart,
    nodeCpu,
    nodeMemory,
    podCpu,
    podMemory,
    resourceError,
    scrapeError,
  ];
  return families
    .filter((f) => f.samples.length)
    .map((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.samples].join('\n'))
    .join('\n')
    .concat('\n');
}
