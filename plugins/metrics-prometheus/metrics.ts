/**
 * Upstream's request metrics on a registry of this server's own (never prom-client's global one).
 * The hot path only bumps numbers in a Map; prom-client reads them when /metrics is scraped. Going
 * through prom-client's labels() on every request cost about a tenth of GET throughput.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CompletedRequest, InflightWatermark, RequestInfo } from 'skiff/sdk';

// Upstream's buckets for apiserver_request_duration_seconds.
const BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];
const LABELS = ['verb', 'dry_run', 'group', 'version', 'resource', 'subresource', 'scope', 'component'] as const;

interface Series {
  labels: Record<(typeof LABELS)[number], string>;
  codes: Map<string, number>;
  /** Observations per bucket (not cumulative); index BUCKETS.length holds those above the last bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

const COUNTER_HELP =
  'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.';
const DURATION_HELP =
  'Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.';

const INFLIGHT_HELP =
  'Maximal number of currently used inflight request limit of this apiserver per request kind in last second.';
const TERMINATIONS_HELP = 'Number of requests which apiserver terminated in self-defense.';
const TERMINATION_LABELS = ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'component', 'code'];

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

/** A Counter whose values come from the series map at scrape time. */
class RequestCounter extends Counter<string> {
  constructor(
    registry: Registry,
    private readonly series: Map<string, Series>,
  ) {
    super({
      name: 'apiserver_request_total',
      help: COUNTER_HELP,
      labelNames: [...LABELS, 'code'],
      registers: [registry],
    });
  }

  override async get() {
    const values: MetricValue[] = [];
    for (const s of this.series.values()) {
      for (const [code, value] of s.codes) values.push({ labels: { ...s.labels, code }, value });
    }
    const out = { name: 'apiserver_request_total', help: COUNTER_HELP, type: 'counter', values, aggregator: 'sum' };
    return out as unknown as Awaited<ReturnType<Counter<string>['get']>>;
  }
}

/** A Histogram whose buckets come from the series map at scrape time. */
class RequestDuration extends Histogram<string> {
  constructor(
    registry: Registry,
    private readonly series: Map<string, Series>,
  ) {
    super({
      name: 'apiserver_request_duration_seconds',
      help: DURATION_HELP,
      labelNames: [...LABELS],
      buckets: BUCKETS,
      registers: [registry],
    });
  }

  override async get() {
    const name = 'apiserver_request_duration_seconds';
    const values: MetricValue[] = [];
    for (const s of this.series.values()) {
      let acc = 0;
      BUCKETS.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ labels: { ...s.labels, le }, value: acc, metricName: `${name}_bucket` });
      });
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
    }
    const out = { name, help: DURATION_HELP, type: 'histogram', values, aggregator: 'sum' };
    return out as unknown as Awaited<ReturnType<Histogram<string>['get']>>;
  }

  // prom-client's registry prefers this (untyped) method for the text format; serve the same values.
  getForPromString() {
    return this.get();
  }
}

export class ApiMetrics {
  readonly registry = new Registry();
  private readonly series = new Map<string, Series>();

  private readonly terminations = new Counter({
    name: 'apiserver_request_terminations_total',
    help: TERMINATIONS_HELP,
    labelNames: TERMINATION_LABELS,
    registers: [this.registry],
  });

  constructor() {
    new RequestCounter(this.registry, this.series);
    new RequestDuration(this.registry, this.series);
    collectDefaultMetrics({ register: this.registry });
  }

  /** apiserver_current_inflight_requests{request_kind}: read from the server when scraped. */
  trackInflight(watermark: () => InflightWatermark): void {
    new Gauge({
      name: 'apiserver_current_inflight_requests',
      help: INFLIGHT_HELP,
      labelNames: ['request_kind'],
      registers: [this.registry],
      collect() {
        const w = watermark();
        this.set({ request_kind: 'readOnly' }, w.readOnly);
        this.set({ request_kind: 'mutating' }, w.mutating);
      },
    });
  }

  /** A request observer: every answered request counted and timed, a self-defense refusal also as a termination. */
  readonly record = (request: CompletedRequest): void => {
    if (request.terminated) this.terminated(request.info, request.code);
    this.observe(request.info, request.dryRun, request.code, request.seconds);
  };

  /** A request the server refused to protect itself (429 from the in-flight limit or the body budget). */
  terminated(info: RequestInfo | undefined, code: number): void {
    this.terminations.inc({
      verb: (info?.verb ?? 'unknown').toUpperCase(),
      group: info?.apiGroup ?? '',
      version: info?.apiVersion ?? '',
      resource: info?.resource ?? '',
      // As upstream: a non-resource request's path goes in the subresource label.
      subresource: info?.resourceRequest ? info.subresource : (info?.path ?? ''),
      scope: scopeOf(info),
      component: 'apiserver',
      code: String(code),
    });
  }

  observe(info: RequestInfo | undefined, dryRun: boolean, code: number, seconds: number): void {
    const verb = (info?.verb ?? 'unknown').toUpperCase();
    const scope = scopeOf(info);
    const id = `${verb}|${dryRun}|${info?.apiGroup}|${info?.apiVersion}|${info?.resource}|${info?.subresource}|${scope}`;
    let s = this.series.get(id);
    if (!s) {
      s = {
        labels: {
          verb,
          dry_run: dryRun ? 'All' : '',
          group: info?.apiGroup ?? '',
          version: info?.apiVersion ?? '',
          resource: info?.resource ?? '',
          subresource: info?.subresource ?? '',
          scope,
          component: 'apiserver',
        },
        codes: new Map(),
        buckets: new Float64Array(BUCKETS.length + 1),
        sum: 0,
        count: 0,
      };
      this.series.set(id, s);
    }
    const c = String(code);
    s.codes.set(c, (s.codes.get(c) ?? 0) + 1);
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    s.buckets[i]!++;
    s.sum += seconds;
    s.count++;
  }
}

function scopeOf(info: RequestInfo | undefined): string {
  if (!info?.resourceRequest) return '';
  if (info.name) return 'resource';
  return info.namespace ? 'namespace' : 'cluster';
}
