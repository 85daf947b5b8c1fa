/**
 * Third-party admission plugins that throw, hang, answer garbage or break the object: with
 * failurePolicy Fail the request gets an InternalError naming the plugin; with Ignore the plugin
 * is skipped. Either way the server keeps serving and nothing half-written is left behind.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import type { AdmissionPlugin } from '../../core/auth-types.js';
import { guardAdmission } from '../../core/server/admission-guard.js';
import { podCreateAttributes } from '../helpers/admission.js';
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

describe('guardAdmission (the guard itself)', () => {
  const logger = pino({ level: 'silent' });
  const attributes = podCreateAttributes;

  const guard = (admit: AdmissionPlugin['admit'], timeoutSeconds = 0.15) =>
    guardAdmission({ name: 'P', admit }, 'admit', { failurePolicy: 'Fail', timeoutSeconds }, logger)!;

  it('answers a synchronous plugin synchronously, and a throwing one by throwing', () => {
    expect(guard(() => undefined)(attributes())).to.equal(undefined);
    expect(() =>
      guard(() => {
        throw new Error('boom');
      })(attributes()),
    ).to.throw(/admission plugin "P" failed: boom/);
  });

  it('shows a subresource POST (a TokenRequest, a Binding) only to a plugin that names that subresource', () => {
    const seen: string[] = [];
    const tokenCreate = () => ({
      ...attributes(),
      resource: { group: '', version: 'v1', resource: 'serviceaccounts' },
      subresource: 'token',
      kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
    });
    const plugin = (name: string, subresourceCreates?: string[]): AdmissionPlugin => ({
      name,
      subresourceCreates,
      admit: (a) => {
        seen.push(`${name}:${a.subresource || a.kind.kind}`);
      },
    });
    const policy = { failurePolicy: 'Fail', timeoutSeconds: 1 } as const;
    for (const p of [plugin('plain'), plugin('tokens', ['token']), plugin('bindings', ['binding'])]) {
      const step = guardAdmission(p, 'admit', policy, logger)!;
      step(tokenCreate());
      step(attributes());
      step({ ...attributes(), operation: 'UPDATE', subresource: 'status' });
    }
    expect(seen).to.deep.equal([
      'plain:Pod',
      'plain:status',
      'tokens:token',
      'tokens:Pod',
      'tokens:status',
      'bindings:Pod',
      'bindings:status',
    ]);
  });

  it('times out each hanging call at its own deadline, while calls that answer in time pass', async () => {
    const never = new Promise<void>(() => undefined);
    const step = guard((a) => (a.name === 'hang' ? never : new Promise<void>((r) => setTimeout(r, 20))));
    const started = Date.now();
    const outcome = (p: Promise<void> | undefined) =>
      p!.then(
        () => ({ ok: true, ms: Date.now() - started }),
        (err: Error) => ({ ok: false, message: err.message, ms: Date.now() - started }),
      );
    const first = outcome(step({ ...attributes(), name: 'hang' }));
    const fast = outcome(step(attributes()));
    await new Promise((r) => setTimeout(r, 100));
    const second = outcome(step({ ...attributes(), name: 'hang' }));
    const [a, b, c] = await Promise.all([first, fast, second]);
    expect(b).to.include({ ok: true });
    expect(a).to.include({ ok: false });
    expect((a as { message: string }).message).to.match(/no answer within 0.15s \(timeoutSeconds of "P"\)/);
    expect(a.ms).to.be.within(140, 235);
    // Started 100 ms later, so it ends about 100 ms later: not swept out with the first one.
    expect(c).to.include({ ok: false });
    expect(c.ms).to.be.within(245, 600);
  });
});
