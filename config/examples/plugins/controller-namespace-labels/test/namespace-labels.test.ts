/**
 * The example controller in a real server (`skiff up`'s role, which runs controllers), loaded by
 * path as an operator would: new namespaces get the configured labels; a label a namespace already
 * has keeps its value; a label key that is not one stops start-up with the config's coded error.
 */
import { expect } from 'chai';
import { loadConfigFromObject } from '../../../../../core/config/load.js';
import { api, startTestServer, type TestServer } from '../../../../../test/helpers/server.js';
import { waitFor } from '../../../../../test/helpers/wait.js';

const PLUGIN = new URL('..', import.meta.url).pathname;
const LABELS = { 'lab.example.com/course': 'k8s-101', team: 'blue' };

describe('example plugin controller-namespace-labels, in a real server', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      role: 'up',
      plugins: { 'controller-namespace-labels': { path: PLUGIN, config: { labels: LABELS } } },
    });
  });
  after(() => s?.close());

  const labelsOf = async (name: string) =>
    (await api(s.url, 'GET', `/api/v1/namespaces/${name}`)).body.metadata?.labels as Record<string, string>;

  it('gives a new namespace the configured labels', async () => {
    const created = await api(s.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'lab-1' } });
    expect(created.status).to.equal(201);
    const labels = await waitFor(
      'the labels',
      () => labelsOf('lab-1'),
      (l) => l?.team !== undefined,
    );
    expect(labels).to.include(LABELS);
  });

  it('fills in only the labels a namespace lacks: one it was created with keeps its value', async () => {
    const body = { metadata: { name: 'lab-2', labels: { team: 'red' } } };
    expect((await api(s.url, 'POST', '/api/v1/namespaces', body)).status).to.equal(201);
    const labels = await waitFor(
      'the labels',
      () => labelsOf('lab-2'),
      (l) => l?.['lab.example.com/course'] !== undefined,
    );
    expect(labels).to.include({ 'lab.example.com/course': 'k8s-101', team: 'red' });
  });

  it('labels the namespaces that existed before it started (default, kube-system)', async () => {
    const labels = await waitFor(
      'the labels',
      () => labelsOf('kube-system'),
      (l) => l?.team !== undefined,
    );
    expect(labels).to.include(LABELS);
  });

  it("grants the controllers' user what it does to namespaces, and nothing else", async () => {
    const may = async (verb: string, resource: string) => {
      const review = {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: 'system:kube-controller-manager', resourceAttributes: { verb, resource, name: 'lab-1' } },
      };
      const answer = await api(s.url, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', review);
      return answer.body.status.allowed as boolean;
    };
    expect(await may('patch', 'namespaces')).to.equal(true);
    expect(await may('delete', 'namespaces')).to.equal(false);
    expect(await may('patch', 'configmaps')).to.equal(false);
  });

  it('refuses a label key or value that is not one, at start-up, naming the key and its README', async () => {
    for (const labels of [{ 'bad key!': 'x' }, { team: 'bad value!' }]) {
      const err = await loadConfigFromObject(
        { plugins: { 'controller-namespace-labels': { path: PLUGIN, config: { labels } } } },
        'skiff.yaml',
      ).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string; fix: string },
      );
      expect(err?.code).to.equal('SKIFF_PLUGIN_CONFIG_INVALID');
      const key = Object.keys(labels)[0];
      expect(err?.message).to.match(new RegExp(`plugins\\.controller-namespace-labels\\.config\\.labels\\.${key}: `));
      expect(err?.fix).to.equal(`see ${PLUGIN}README.md for its keys`);
    }
  });
});
