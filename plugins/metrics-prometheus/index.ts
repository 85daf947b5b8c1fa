/**
 * metrics-prometheus: upstream's API server request metrics in the Prometheus text format at
 * GET /metrics: apiserver_request_total, apiserver_request_duration_seconds,
 * apiserver_current_inflight_requests, apiserver_request_terminations_total and the process's
 * default metrics. On in config/default.yaml. See README.md.
 */
import { definePlugin } from 'skiff/sdk';
import { ApiMetrics } from './metrics.js';

export default definePlugin({
  name: 'metrics-prometheus',
  description: "The API server's request metrics for Prometheus at /metrics (upstream's apiserver_* series).",
  setup(ctx) {
    // One registry per server: several servers in one process keep their own counts.
    const metrics = new ApiMetrics();
    metrics.trackInflight(() => ctx.api.inflightWatermark());
    ctx.provide.requestObserver(metrics.record);
    ctx.provide.routes((router) => {
      router.get('/metrics', async (c) => {
        c.type = metrics.registry.contentType;
        c.body = await metrics.registry.metrics();
      });
    });
  },
});
