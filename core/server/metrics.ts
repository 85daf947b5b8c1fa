/** Upstream's request metrics, on a registry of this server's own (never prom-client's global one). */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { RequestInfo } from './request-info.js';

const LABELS = ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component'] as const;
// Upstream's buckets for apiserver_request_duration_seconds.
const BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly total = new Counter({
    name: 'apiserver_request_total',
    help: 'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
    labelNames: [...LABELS, 'code'],
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
    labelNames: [...LABELS],
    buckets: BUCKETS,
    registers: [this.registry],
  });

  // prom-client hashes label sets on every call; cache the labelled children per combination.
  private readonly children = new Map<
    string,
    { total: (code: string) => { inc(): void }; duration: { observe(v: number): void } }
  >();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observe(info: RequestInfo | undefined, dryRun: boolean, code: number, seconds: number): void {
    const verb = (info?.verb ?? 'unknown').toUpperCase();
    const scope = scopeOf(info);
    const id = `${verb}|${dryRun}|${info?.apiGroup}|${info?.apiVersion}|${info?.resource}|${info?.subresource}|${scope}`;
    let child = this.children.get(id);
    if (!child) {
      const labels = {
        verb,
        dry_run: dryRun ? 'All' : '',
        group: info?.apiGroup ?? '',
        version: info?.apiVersion ?? '',
        resource: info?.resource ?? '',
        subresource: info?.subresource ?? '',
        scope,
        component: 'apiserver',
      };
      const byCode = new Map<string, { inc(): void }>();
      child = {
        total: (c) => {
          const counter = byCode.get(c) ?? this.total.labels({ ...labels, code: c });
          byCode.set(c, counter);
          return counter;
        },
        duration: this.duration.labels(labels),
      };
      // Unbounded label sets would leak: keep the cache to what real traffic produces.
      if (this.children.size < 5000) this.children.set(id, child);
    }
    child.total(String(code)).inc();
    child.duration.observe(seconds);
  }
}

function scopeOf(info: RequestInfo | undefined): string {
  if (!info?.resourceRequest) return '';
  if (info.name) return 'resource';
  return info.namespace ? 'namespace' : 'cluster';
}
