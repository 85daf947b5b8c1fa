/**
 * metrics-prometheus: /metrics counts every answered request by upstream's labels (dry runs apart,
 * each code its own series); turned off, /metrics is a 404 as any unknown path. The in-flight
 * gauge and the 429 terminations are in test/security/overload.test.ts.
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const CM = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
const SERIES = (verb: string, dryRun: string, code: number) =>
  `apiserver_request_total{verb="${verb}",dry_run="${dryRun}",group="",version="v1",resource="configmaps",subresource="",scope="namespace",component="apiserver",code="${code}"}`;

/** The value of one series in the scraped text (0 when absent). */
function countOf(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('metrics-prometheus', function () {
  this.timeout(30_000);

  describe('on', () => {
    let ts: TestServer;
    before(async () => {
      ts = await startTestServer();
    });
    after(async () => ts?.close());

    it('counts each answered request by verb, resource, scope, dry run and code', async () => {
      const path = '/api/v1/namespaces/default/configmaps';
      expect((await api(ts.url, 'POST', path, CM('counted'))).status).to.equal(201);
      expect((await api(ts.url, 'POST', path, CM('counted'))).status).to.equal(409);
      expect((await api(ts.url, 'POST', `${path}?dryRun=All`, CM('dry'))).status).to.equal(201);
      const metrics = await api(ts.url, 'GET', '/metrics');
      expect(metrics.status).to.equal(200);
      expect(metrics.headers.get('content-type')).to.match(/^text\/plain/);
      const text = metrics.body as string;
      expect(countOf(text, SERIES('CREATE', '', 201))).to.equal(1);
      expect(countOf(text, SERIES('CREATE', '', 409))).to.equal(1);
      expect(countOf(text, SERIES('CREATE', 'All', 201))).to.equal(1);
      expect(text).to.match(
        /apiserver_request_duration_seconds_count\{verb="CREATE",dry_run="",[^}]*resource="configmaps"/,
      );
      expect(text).to.contain('apiserver_current_inflight_requests{request_kind="readOnly"}');
      expect(text).to.contain('process_cpu_seconds_total');
    });
  });

  describe('turned off', () => {
    let ts: TestServer;
    before(async () => {
      ts = await startTestServer({ plugins: { 'metrics-prometheus': { enabled: false } } });
    });
    after(async () => ts?.close());

    it('/metrics is 404 NotFound, and requests are served as before', async () => {
      const r = await api(ts.url, 'GET', '/metrics');
      expect(r.status).to.equal(404);
      expect(r.body).to.include({ kind: 'Status', reason: 'NotFound' });
      const path = '/api/v1/namespaces/default/configmaps';
      expect((await api(ts.url, 'POST', path, CM('unmeasured'))).status).to.equal(201);
    });
  });
});
