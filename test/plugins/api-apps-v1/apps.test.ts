/**
 * api-apps-v1: Deployments and ReplicaSets as upstream serves them: defaults, validation with
 * upstream's messages, the immutable selector, the scale and status subresources, the Table
 * columns kubectl prints, discovery (short names, categories).
 */
import { expect } from 'chai';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';

const BASE = '/apis/apps/v1/namespaces/default';
const MERGE = { 'Content-Type': 'application/merge-patch+json' };

const deployment = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    ...spec,
  },
});

describe('api-apps-v1', function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ plugins: { 'api-apps-v1': {} } });
  });
  after(async () => s?.close());

  const create = (body: unknown, kind = 'deployments') => api(s.url, 'POST', `${BASE}/${kind}`, body);
  const causes = (r: { body: { details?: { causes?: { field: string; message: string }[] } } }) =>
    (r.body.details?.causes ?? []).map((c) => `${c.field}: ${c.message}`);

  it("defaults a Deployment as upstream's SetDefaults_Deployment, and its template as a pod spec", async () => {
    const r = await create(deployment('defaults'));
    expect(r.status).to.equal(201);
    expect(r.body.spec).to.deep.include({
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
    });
    const podSpec = r.body.spec.template.spec;
    expect(podSpec).to.include({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
    });
    expect(podSpec.containers[0]).to.include({
      imagePullPolicy: 'Always',
      terminationMessagePath: '/dev/termination-log',
    });
    // What upstream gives pods only stays off templates.
    expect(podSpec).to.not.have.any.keys('enableServiceLinks', 'priority', 'preemptionPolicy');
    expect(r.body.status).to.deep.equal({});
    expect(r.body.metadata.generation).to.equal(1);
  });

  it('refuses what ValidateDeploymentSpec refuses, with its messages', async () => {
    const mismatch = await create(deployment('mismatch', { selector: { matchLabels: { app: 'other' } } }));
    expect(mismatch.status).to.equal(422);
    expect(causes(mismatch)).to.include(
      'spec.template.metadata.labels: Invalid value: {"app":"mismatch"}: `selector` does not match template `labels`',
    );
    const empty = await create(deployment('empty', { selector: {} }));
    expect(causes(empty)).to.include('spec.selector: Invalid value: {}: empty selector is invalid for deployment');
    const zero = await create(
      deployment('zero', { strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } } }),
    );
    expect(causes(zero)).to.include(
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when `maxSurge` is 0',
    );
    const tooMuch = await create(deployment('much', { strategy: { rollingUpdate: { maxUnavailable: '120%' } } }));
    expect(causes(tooMuch)).to.include(
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater than 100%',
    );
    const recreate = await create(deployment('rc', { strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } }));
    expect(causes(recreate)).to.include(
      "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
    );
    const deadline = await create(deployment('deadline', { minReadySeconds: 10, progressDeadlineSeconds: 10 }));
    expect(causes(deadline)).to.include(
      'spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds',
    );
    const restart = deployment('restart');
    (restart.spec.template.spec as Record<string, unknown>).restartPolicy = 'Never';
    expect(causes(await create(restart))).to.include(
      'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
    );
    const image = deployment('noimage');
    (image.spec.template.spec as { containers: unknown[] }).containers = [{ name: 'c' }];
    expect(causes(await create(image))).to.include('spec.template.spec.containers[0].image: Required value');
  });

  it('keeps the selector immutable in apps/v1, and bumps generation for spec changes only', async () => {
    await create(deployment('immutable'));
    const path = `${BASE}/deployments/immutable`;
    const changed = await api(
      s.url,
      'PATCH',
      path,
      { spec: { selector: { matchLabels: { app: 'immutable', x: 'y' } } } },
      MERGE,
    );
    expect(changed.status).to.equal(422);
    expect(causes(changed).some((c) => /^spec\.selector: Invalid value: .*: field is immutable$/.test(c))).to.equal(
      true,
    );
    const annotated = await api(s.url, 'PATCH', path, { metadata: { annotations: { a: 'b' } } }, MERGE);
    expect(annotated.body.metadata.generation).to.equal(1);
    const scaled = await api(s.url, 'PATCH', path, { spec: { replicas: 3 } }, MERGE);
    expect(scaled.body.metadata.generation).to.equal(2);
  });

  it('serves scale (autoscaling/v1 Scale) and status subresources for both kinds', async () => {
    await create(deployment('scaled'));
    const scale = await api(s.url, 'GET', `${BASE}/deployments/scaled/scale`);
    expect(scale.body).to.deep.include({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 1 } });
    expect(scale.body.status).to.deep.equal({ replicas: 0, selector: 'app=scaled' });
    const put = await api(s.url, 'PUT', `${BASE}/deployments/scaled/scale`, { ...scale.body, spec: { replicas: 4 } });
    expect(put.status).to.equal(200);
    expect((await api(s.url, 'GET', `${BASE}/deployments/scaled`)).body.spec.replicas).to.equal(4);
    const negative = await api(s.url, 'PATCH', `${BASE}/deployments/scaled/scale`, { spec: { replicas: -1 } }, MERGE);
    expect(negative.status).to.equal(422);
    const rs = {
      metadata: { name: 'set' },
      spec: {
        selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['set'] }] },
        template: { metadata: { labels: { app: 'set' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    };
    const created = await create(rs, 'replicasets');
    expect(created.body.spec.replicas).to.equal(1);
    expect(created.body.status).to.deep.equal({ replicas: 0 });
    expect((await api(s.url, 'GET', `${BASE}/replicasets/set/scale`)).body.status.selector).to.equal('app in (set)');
    const status = await api(
      s.url,
      'PATCH',
      `${BASE}/replicasets/set/status`,
      { status: { replicas: 2, readyReplicas: 1 } },
      MERGE,
    );
    expect(status.body.status).to.deep.equal({ replicas: 2, readyReplicas: 1 });
    expect(status.body.spec.replicas).to.equal(1);
  });

  it('answers kubectl get with its columns, and discovery with short names and categories', async () => {
    const table = await api(s.url, 'GET', `${BASE}/deployments`, undefined, {
      Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    expect(table.body.columnDefinitions.map((c: { name: string }) => c.name)).to.deep.equal([
      'Name',
      'Ready',
      'Up-to-date',
      'Available',
      'Age',
      'Containers',
      'Images',
      'Selector',
    ]);
    const row = table.body.rows.find((r: { cells: unknown[] }) => r.cells[0] === 'scaled');
    expect(row.cells.slice(1, 4)).to.deep.equal(['0/4', 0, 0]);
    const discovery = await api(s.url, 'GET', '/apis/apps/v1');
    const byName = Object.fromEntries(discovery.body.resources.map((r: { name: string }) => [r.name, r]));
    expect(byName.deployments).to.deep.include({
      kind: 'Deployment',
      namespaced: true,
      shortNames: ['deploy'],
      categories: ['all'],
    });
    expect(byName.replicasets).to.deep.include({ kind: 'ReplicaSet', shortNames: ['rs'], categories: ['all'] });
    expect(byName['deployments/scale']).to.deep.include({ kind: 'Scale', group: 'autoscaling', version: 'v1' });
  });
});
