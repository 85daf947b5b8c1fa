/**
 * quota-evaluator: the QUOTA_USAGE service both quota plugins depend on. `skiff controller-manager`
 * sets it up beside the quota controller without any admission plugin; a quota plugin without it
 * is refused when the config loads; and a replacement under its name changes what both charge.
 */
import { expect } from 'chai';
import { loadConfig, loadConfigFromObject } from '../../../core/config/load.js';
import { SkiffError } from '../../../core/errors.js';
import { selectedPlugins } from '../../../core/sdk/component.js';
import { controllerPlugins } from '../../../plugins/controller-manager/selection.js';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { waitFor } from '../../helpers/wait.js';

const DOUBLE = new URL('../../fixtures/plugins/quota-evaluator-double', import.meta.url).pathname;

describe('quota-evaluator', () => {
  it('`skiff controller-manager` sets it up for the quota controller, with no admission plugin', async () => {
    const names = selectedPlugins(await loadConfig(undefined), controllerPlugins).plugins.map((p) => p.name);
    expect(names).to.include.members(['quota-evaluator', 'controller-resource-quota']);
    expect(names.indexOf('quota-evaluator')).to.be.lessThan(names.indexOf('controller-resource-quota'));
    expect(names.filter((n) => n.startsWith('admission-'))).to.deep.equal([]);
  });

  it('a quota plugin without it is refused when the config loads, naming it (SKIFF_PLUGIN_MISSING_DEPENDENCY)', async () => {
    for (const user of ['admission-resource-quota', 'controller-resource-quota']) {
      const err = await loadConfigFromObject({ plugins: { 'api-core-v1': {}, [user]: {} } }, '(test)').catch(
        (e: unknown) => e,
      );
      expect(err, user).to.be.instanceOf(SkiffError);
      expect((err as SkiffError).code).to.equal('SKIFF_PLUGIN_MISSING_DEPENDENCY');
      expect((err as SkiffError).message).to.contain(`plugins.${user} needs "quota-evaluator"`);
    }
  });

  describe('replaced by a plugin of the same name', function () {
    this.timeout(30_000);
    let s: TestServer;
    before(async () => {
      s = await startTestServer({
        role: 'up',
        plugins: {
          'quota-evaluator': { path: DOUBLE },
          'admission-resource-quota': {},
          'authz-bootstrap-roles': {},
          'controller-resource-quota': { config: { settleSeconds: 0.2 } },
        },
      });
    });
    after(() => s?.close());

    it('admission charges, and the controller recounts, what the replacement says', async () => {
      const quotas = '/api/v1/namespaces/default/resourcequotas';
      const quota = { metadata: { name: 'cm' }, spec: { hard: { 'count/configmaps': '3' } } };
      expect((await api(s.url, 'POST', quotas, quota)).status).to.equal(201);
      await waitFor(
        'the controller to set status.hard',
        async () => (await api(s.url, 'GET', `${quotas}/cm`)).body,
        (q) => q.status?.hard?.['count/configmaps'] === '3',
      );
      const configMap = (name: string) => ({ metadata: { name }, data: { a: '1' } });
      const maps = '/api/v1/namespaces/default/configmaps';
      expect((await api(s.url, 'POST', maps, configMap('one'))).status).to.equal(201);
      const refused = await api(s.url, 'POST', maps, configMap('two'));
      expect(refused.status).to.equal(403);
      expect(refused.body.message).to.contain(
        'exceeded quota: cm, requested: count/configmaps=2, used: count/configmaps=2, limited: count/configmaps=3',
      );
      // A new limit makes the controller recount from the objects: one ConfigMap, counted twice
      // (upstream's evaluator would have written 1).
      const raise = { spec: { hard: { 'count/configmaps': '4' } } };
      const merge = { 'Content-Type': 'application/merge-patch+json' };
      expect((await api(s.url, 'PATCH', `${quotas}/cm`, raise, merge)).status).to.equal(200);
      const recounted = await waitFor(
        'the controller to recount',
        async () => (await api(s.url, 'GET', `${quotas}/cm`)).body,
        (q) => q.status?.hard?.['count/configmaps'] === '4',
      );
      expect(recounted.status.used).to.deep.equal({ 'count/configmaps': '2' });
    });
  });
});
