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

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observe(info: RequestInfo | undefined, dryRun: boolean, code: number, seconds: number): void {
    const labels = {
      verb: (info?.verb ?? 'unknown').toUpperCase(),
      dry_run: dryRun ? 'All' : '',
      group: info?.apiGroup ?? '',
      version: info?.apiVersion ?? '',
      resource: info?.resource ?? '',
      subresource: info?.subresource ?? '',
      scope: scopeOf(info),
      component: 'apiserver',
    };
    this.total.inc({ ...labels, code: String(code) });
    this.duration.observe(labels, seconds);
  }
}

function scopeOf(info: RequestInfo | undefined): string {
  if (!info?.resourceRequest) return '';
  if (info.name) return 'resource';
  return info.namespace ? 'namespace' : 'cluster';
}
