/**
 * PriorityClasses (api-scheduling-v1) and the Priority admission plugin (admission-priority)
 * against a real server: upstream's validation and messages, the system classes made at start,
 * a pod's priority and preemption policy resolved from its class (or the global default), and
 * pods that give their own priority refused unless it is their class's.
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const PC = '/apis/scheduling.k8s.io/v1/priorityclasses';
const PODS = '/api/v1/namespaces/default/pods';

const pod = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec },
});

const priorityClass = (name: string, value: number, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'scheduling.k8s.io/v1',
  kind: 'PriorityClass',
  metadata: { name },
  value,
  ...extra,
});

describe('plugins/api-scheduling-v1 and admission-priority', function () {
  this.timeout(20_000);
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({ plugins: { 'api-scheduling-v1': {}, 'admission-priority': {} } });
  });
  after(() => ts?.close());

  describe('PriorityClass', () => {
    it('creates the two system classes at start, as upstream', async () => {
      const r = await api(ts.url, 'GET', `${PC}/system-node-critical`);
      expect(r.status).to.equal(200);
      expect(r.body).to.include({ value: 2000001000, globalDefault: false, preemptionPolicy: 'PreemptLowerPriority' });
      const c = await api(ts.url, 'GET', `${PC}/system-cluster-critical`);
      expect(c.body.value).to.equal(2000000000);
    });

    it('defaults preemptionPolicy and refuses a user value above 1,000,000,000', async () => {
      const ok = await api(ts.url, 'POST', PC, priorityClass('high', 1000));
      expect(ok.status).to.equal(201);
      expect(ok.body.preemptionPolicy).to.equal('PreemptLowerPriority');
      const big = await api(ts.url, 'POST', PC, priorityClass('huge', 1_000_000_001));
      expect(big.status).to.equal(422);
      expect(big.body.message).to.include(
        'value: Forbidden: maximum allowed value of a user defined priority is 1000000000',
      );
    });

    it('reserves the system- prefix and keeps value and preemptionPolicy immutable', async () => {
      const sys = await api(ts.url, 'POST', PC, priorityClass('system-mine', 10));
      expect(sys.status).to.equal(422);
      expect(sys.body.message).to.include(
        "priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class",
      );
      const current = (await api(ts.url, 'GET', `${PC}/high`)).body;
      const changed = await api(ts.url, 'PUT', `${PC}/high`, { ...current, value: 5 });
      expect(changed.status).to.equal(422);
      expect(changed.body.message).to.include('value: Forbidden: may not be changed in an update.');
      const bad = await api(ts.url, 'POST', PC, priorityClass('odd', 1, { preemptionPolicy: 'Sometimes' }));
      expect(bad.status).to.equal(422);
      expect(bad.body.message).to.include('preemptionPolicy: Unsupported value: "Sometimes"');
    });

    it('refuses to delete a system class (403)', async () => {
      const r = await api(ts.url, 'DELETE', `${PC}/system-node-critical`);
      expect(r.status).to.equal(403);
      expect(r.body.message).to.equal(
        'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted',
      );
    });

    it('allows one globalDefault class only', async () => {
      expect(
        (await api(ts.url, 'POST', PC, priorityClass('default-low', 10, { globalDefault: true }))).status,
      ).to.equal(201);
      const second = await api(ts.url, 'POST', PC, priorityClass('default-two', 20, { globalDefault: true }));
      expect(second.status).to.equal(403);
      expect(second.body.message).to.include(
        'PriorityClass default-low is already marked as default. Only one default can exist',
      );
    });
  });

  describe('Priority admission', () => {
    it('gives a pod its class priority and policy (not refused for what pod defaulting filled in)', async () => {
      const r = await api(ts.url, 'POST', PODS, pod('with-class', { priorityClassName: 'high' }));
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body.spec).to.include({
        priority: 1000,
        preemptionPolicy: 'PreemptLowerPriority',
        priorityClassName: 'high',
      });
    });

    it('a pod naming no class gets the global default class', async () => {
      const r = await api(ts.url, 'POST', PODS, pod('plain'));
      expect(r.status).to.equal(201);
      expect(r.body.spec).to.include({ priority: 10, priorityClassName: 'default-low' });
    });

    it("refuses an unknown class with upstream's message", async () => {
      const r = await api(ts.url, 'POST', PODS, pod('unknown', { priorityClassName: 'nope' }));
      expect(r.status).to.equal(403);
      expect(r.body.message).to.equal('pods "unknown" is forbidden: no PriorityClass with name nope was found');
    });

    it('refuses a priority or policy other than the class gives', async () => {
      const r = await api(ts.url, 'POST', PODS, pod('sneaky', { priorityClassName: 'high', priority: 2000 }));
      expect(r.status).to.equal(403);
      expect(r.body.message).to.include(
        'the integer value of priority (2000) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name',
      );
      const same = await api(ts.url, 'POST', PODS, pod('honest', { priorityClassName: 'high', priority: 1000 }));
      expect(same.status).to.equal(201);
      const policy = await api(
        ts.url,
        'POST',
        PODS,
        pod('never', { priorityClassName: 'high', preemptionPolicy: 'Never' }),
      );
      expect(policy.status).to.equal(403);
      expect(policy.body.message).to.include(
        'the string value of PreemptionPolicy (Never) must not be provided in pod spec',
      );
    });

    it('an update that leaves priority out keeps the one creation set', async () => {
      const current = (await api(ts.url, 'GET', `${PODS}/with-class`)).body;
      const { priority: _p, preemptionPolicy: _q, ...spec } = current.spec;
      const r = await api(ts.url, 'PUT', `${PODS}/with-class`, {
        ...current,
        metadata: { ...current.metadata, labels: { a: 'b' } },
        spec,
      });
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body.spec.priority).to.equal(1000);
    });
  });
});
