/** The semantics of each chain, proved with small test plugins tapped onto fresh hooks. */
import { expect } from 'chai';
import type { AuthenticationRequest, AuthorizationAttributes } from '../../core/auth-types.js';
import { runAdmission, runAuthentication, runAuthorization } from '../../core/chains.js';
import { errors, isStatusError } from '../../core/errors.js';
import { createHooks } from '../../core/hooks.js';
import { podCreateAttributes } from '../helpers/admission.js';

const request: AuthenticationRequest = { headers: {}, transport: 'secure' };
const attributes = (): AuthorizationAttributes => ({
  user: { name: 'bob', groups: [] },
  verb: 'get',
  resourceRequest: true,
  namespace: 'default',
  apiGroup: '',
  apiVersion: 'v1',
  resource: 'pods',
  subresource: '',
  name: '',
  path: '/api/v1/namespaces/default/pods',
});

describe('core/chains', () => {
  describe('authentication: a union', () => {
    it('the first authenticator that identifies the user wins, and system:authenticated is added', async () => {
      const hooks = createHooks();
      hooks.authenticate.tap('not-mine', () => undefined);
      hooks.authenticate.tap('first', () => ({ user: { name: 'alice', groups: ['dev'] } }));
      hooks.authenticate.tap('second', () => ({ user: { name: 'mallory', groups: [] } }));
      const out = await runAuthentication(hooks, request);
      expect(out.result?.authenticator).to.equal('first');
      expect(out.result?.user).to.deep.equal({ name: 'alice', groups: ['dev', 'system:authenticated'] });
    });
    it('a throwing authenticator does not end the union; refusals are collected', async () => {
      const hooks = createHooks();
      hooks.authenticate.tap('broken', () => {
        throw new Error('boom');
      });
      hooks.authenticate.tap('refuses', () => ({ error: 'token expired' }));
      hooks.authenticate.tapPromise('async-ok', async () => ({ user: { name: 'carol', groups: [] } }));
      const out = await runAuthentication(hooks, request);
      expect(out.result?.user.name).to.equal('carol');
      expect(out.refusals).to.deep.equal([
        { authenticator: 'broken', reason: 'failed: boom' },
        { authenticator: 'refuses', reason: 'token expired' },
      ]);
    });
    it('nobody identifies the user: no result, every reason kept', async () => {
      const hooks = createHooks();
      hooks.authenticate.tap('a', () => ({ error: 'bad certificate' }));
      hooks.authenticate.tap('b', () => undefined);
      const out = await runAuthentication(hooks, request);
      expect(out.result).to.equal(undefined);
      expect(out.refusals.map((r) => r.authenticator)).to.deep.equal(['a']);
    });
  });

  describe('authorization: three-valued', () => {
    it('no-opinion falls through; the first allow wins and names its authorizer', async () => {
      const hooks = createHooks();
      const asked: string[] = [];
      hooks.authorize.tap('abstains', () => {
        asked.push('abstains');
        return { decision: 'no-opinion', reason: 'not my user' };
      });
      hooks.authorize.tap('allows', () => {
        asked.push('allows');
        return { decision: 'allow', reason: 'policy line 3' };
      });
      hooks.authorize.tap('never-asked', () => {
        asked.push('never-asked');
        return { decision: 'deny', reason: '' };
      });
      const d = await runAuthorization(hooks, attributes());
      expect(d).to.deep.equal({ decision: 'allow', reason: 'policy line 3', authorizer: 'allows' });
      expect(asked).to.deep.equal(['abstains', 'allows']);
    });
    it('the first deny wins even if a later authorizer would allow', async () => {
      const hooks = createHooks();
      hooks.authorize.tap('denies', () => ({ decision: 'deny', reason: 'blocked' }));
      hooks.authorize.tap('allows', () => ({ decision: 'allow', reason: '' }));
      expect((await runAuthorization(hooks, attributes())).decision).to.equal('deny');
    });
    it('all no-opinion (or errors) ends in no-opinion with the reasons, which the caller denies', async () => {
      const hooks = createHooks();
      hooks.authorize.tap('abstains', () => ({ decision: 'no-opinion', reason: 'AlwaysDeny' }));
      hooks.authorize.tap('broken', () => {
        throw new Error('policy file unreadable');
      });
      const d = await runAuthorization(hooks, attributes());
      expect(d.decision).to.equal('no-opinion');
      expect(d.reason).to.contain('AlwaysDeny').and.contain('policy file unreadable');
    });
    it('the refusal keeps the no-opinion reasons as upstream joins them (newlines), and no error text', async () => {
      const hooks = createHooks();
      hooks.authorize.tap('first', () => ({ decision: 'no-opinion', reason: 'Everything is forbidden.' }));
      hooks.authorize.tap('silent', () => ({ decision: 'no-opinion', reason: '' }));
      hooks.authorize.tap('broken', () => {
        throw new Error('policy file unreadable');
      });
      hooks.authorize.tap('second', () => ({ decision: 'no-opinion', reason: 'not mine' }));
      const d = await runAuthorization(hooks, attributes());
      expect(d.noOpinionReason).to.equal('Everything is forbidden.\nnot mine');
      const none = createHooks();
      none.authorize.tap('silent', () => ({ decision: 'no-opinion', reason: '' }));
      expect(await runAuthorization(none, attributes())).to.not.have.property('noOpinionReason');
    });
  });

  describe('admission: mutating, then validating', () => {
    it('runs every mutating plugin before any validating one, whatever the registration order', async () => {
      const hooks = createHooks();
      const order: string[] = [];
      hooks.admitValidating.tap('v1', () => void order.push('v1'));
      hooks.admitMutating.tap('m1', (a) => {
        order.push('m1');
        a.object!.metadata.labels!.team = 'blue';
      });
      hooks.admitValidating.tap('v2', (a) => {
        order.push('v2');
        expect(a.object!.metadata.labels!.team, 'mutations are visible to later plugins').to.equal('blue');
      });
      hooks.admitMutating.tapPromise('m2', async () => void order.push('m2'));
      await runAdmission(hooks, podCreateAttributes());
      expect(order).to.deep.equal(['m1', 'm2', 'v1', 'v2']);
    });
    it('the first error rejects and later plugins do not run; a StatusError passes through', async () => {
      const hooks = createHooks();
      let later = false;
      hooks.admitMutating.tap('rejects', () => {
        throw errors.forbidden({ group: '', resource: 'pods' }, 'p', 'no pods today');
      });
      hooks.admitValidating.tap('later', () => {
        later = true;
      });
      const err = await runAdmission(hooks, podCreateAttributes()).catch((e: unknown) => e);
      expect(isStatusError(err) && err.code).to.equal(403);
      expect((err as Error).message).to.equal('pods "p" is forbidden: no pods today');
      expect(later).to.equal(false);
    });
    it('any other error is an InternalError that names the plugin', async () => {
      const hooks = createHooks();
      hooks.admitValidating.tap('buggy-plugin', () => {
        throw new TypeError('x is undefined');
      });
      const err = await runAdmission(hooks, podCreateAttributes()).catch((e: unknown) => e);
      expect(isStatusError(err) && err.reason).to.equal('InternalError');
      expect((err as Error).message)
        .to.contain('"buggy-plugin"')
        .and.contain('x is undefined');
    });
  });
});
