/**
 * Third-party admission plugins that throw, hang, answer garbage or break the object: with
 * failurePolicy Fail the request gets an InternalError naming the plugin; with Ignore the plugin
 * is skipped. Either way the server keeps serving and nothing half-written is left behind.
 */
import { expect } from 'chai';
import { api, startTestServer } from '../helpers/server.js';

const BROKEN = new URL('../fixtures/plugins/broken-admission', import.meta.url).pathname;

async function withBroken(mode: string, policy: Record<string, unknown>, check: (url: string) => Promise<void>) {
  const s = await startTestServer({ plugins: { 'broken-admission': { path: BROKEN, config: { mode }, ...policy } } });
  try {
    await check(s.url);
  } finally {
    await s.close();
  }
}

const create = (url: string, name: string) =>
  api(url, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name }, data: { a: '1' } });

describe('admission plugin failures (failurePolicy, timeoutSeconds)', () => {
  const failures: [string, RegExp][] = [
    ['throw', /admission plugin "BrokenAdmission" failed: cannot read properties of undefined/],
    ['garbage', /admission plugin "BrokenAdmission" failed: admit\(\) returned \{"allowed":"maybe"\}/],
    ['strip-metadata', /admission plugin "BrokenAdmission" failed: admit\(\) left the object without metadata/],
    ['hang', /admission plugin "BrokenAdmission" failed: no answer within 0.2s/],
  ];
  for (const [mode, message] of failures) {
    it(`${mode} with failurePolicy Fail: 500 InternalError naming the plugin, nothing stored`, async () => {
      await withBroken(mode, { failurePolicy: 'Fail', timeoutSeconds: 0.2 }, async (url) => {
        const r = await create(url, `cm-${mode}`);
        expect(r.status).to.equal(500);
        expect(r.body.reason).to.equal('InternalError');
        expect(r.body.message).to.match(message);
        expect((await api(url, 'GET', `/api/v1/namespaces/default/configmaps/cm-${mode}`)).status).to.equal(404);
        // Other kinds, and the server itself, carry on.
        expect(
          (await api(url, 'POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 's' } })).status,
        ).to.equal(201);
      });
    });
  }

  for (const mode of ['throw', 'hang', 'garbage']) {
    it(`${mode} with failurePolicy Ignore: the plugin is skipped and the create succeeds`, async () => {
      await withBroken(mode, { failurePolicy: 'Ignore', timeoutSeconds: 0.2 }, async (url) => {
        const r = await create(url, `cm-${mode}`);
        expect(r.status).to.equal(201);
        expect(r.body.data).to.deep.equal({ a: '1' });
      });
    });
  }

  it('refuses a failurePolicy that is neither Fail nor Ignore, naming the key', async () => {
    let error: Error | undefined;
    try {
      await startTestServer({
        plugins: { 'broken-admission': { path: BROKEN, config: { mode: 'throw' }, failurePolicy: 'Maybe' } },
      });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.match(/plugins\.broken-admission\.failurePolicy/);
  });
});
