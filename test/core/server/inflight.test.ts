/** The in-flight limiter's classification (upstream's), its counting, the body budget, and their config and flags. */
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { parseRequestInfo } from '../../../core/api/request-info.js';
import { loadConfigFromObject } from '../../../core/config/load.js';
import { isStatusError } from '../../../core/errors.js';
import { BodyBudget, InflightLimiter, isHealthProbe, isLongRunning, kindOf } from '../../../core/server/inflight.js';

const BIN = new URL('../../../scripts/skiff.mjs', import.meta.url).pathname;
const info = (method: string, url: string) => {
  const [path, query] = url.split('?');
  return parseRequestInfo(method, path!, new URLSearchParams(query ?? ''));
};
const alice = { name: 'alice', groups: ['system:authenticated'] };
const admin = { name: 'root', groups: ['system:masters', 'system:authenticated'] };

describe('core/server: in-flight limits', () => {
  it("classifies long-running requests as upstream's BasicLongRunningRequestCheck", () => {
    const long = [
      ['GET', '/api/v1/namespaces/a/pods?watch=true'],
      ['GET', '/api/v1/watch/namespaces/a/pods'],
      ['GET', '/api/v1/namespaces/a/pods/p/log'],
      ['POST', '/api/v1/namespaces/a/pods/p/exec'],
      ['POST', '/api/v1/namespaces/a/pods/p/attach'],
      ['POST', '/api/v1/namespaces/a/pods/p/portforward'],
      ['GET', '/api/v1/namespaces/a/pods/p/proxy/x'],
      ['GET', '/api/v1/proxy/namespaces/a/pods/p'],
      ['GET', '/debug/pprof/profile'],
    ];
    for (const [m, u] of long) expect(isLongRunning(info(m!, u!)), `${m} ${u}`).to.equal(true);
    const short = [
      ['GET', '/api/v1/namespaces/a/pods'],
      ['GET', '/api/v1/namespaces/a/pods/p'],
      ['PUT', '/api/v1/namespaces/a/pods/p/status'],
      ['GET', '/version'],
    ];
    for (const [m, u] of short) expect(isLongRunning(info(m!, u!)), `${m} ${u}`).to.equal(false);
  });

  it('counts get, list and watch as read-only and everything else (non-resource POST and HEAD too) as mutating', () => {
    expect(kindOf(info('GET', '/api/v1/pods'))).to.equal('readOnly');
    expect(kindOf(info('GET', '/api/v1/namespaces/a/pods/p'))).to.equal('readOnly');
    expect(kindOf(info('GET', '/version'))).to.equal('readOnly');
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect(kindOf(info(m, '/api/v1/namespaces/a/pods/p')), m).to.equal('mutating');
    }
    expect(kindOf(info('POST', '/some/path'))).to.equal('mutating');
    expect(kindOf(info('HEAD', '/version'))).to.equal('mutating');
  });

  it('health probes are GETs of /healthz, /livez, /readyz and their checks, nothing else', () => {
    for (const p of ['/healthz', '/livez', '/readyz', '/livez/ping', '/readyz/storage']) {
      expect(isHealthProbe(info('GET', p)), p).to.equal(true);
    }
    for (const p of ['/metrics', '/healthzz', '/version']) expect(isHealthProbe(info('GET', p)), p).to.equal(false);
    expect(isHealthProbe(info('POST', '/healthz'))).to.equal(false);
  });

  it('refuses one request over the limit, serves again once a slot is released; 0 means no limit', () => {
    const limiter = new InflightLimiter({ readOnly: 1, mutating: 0 });
    try {
      const list = info('GET', '/api/v1/pods');
      const slot = limiter.admit(list, alice);
      expect(slot).to.equal('readOnly');
      let refusal: unknown;
      try {
        limiter.admit(list, alice);
      } catch (err) {
        refusal = err;
      }
      expect(isStatusError(refusal) && refusal.toStatus()).to.deep.include({ code: 429, reason: 'TooManyRequests' });
      expect(limiter.admit(list, admin), 'system:masters over the limit takes no slot').to.equal(undefined);
      limiter.release(slot!);
      expect(limiter.admit(list, alice)).to.equal('readOnly');
      const create = info('POST', '/api/v1/namespaces/a/pods');
      for (let i = 0; i < 1000; i++) expect(limiter.admit(create, alice)).to.equal('mutating');
    } finally {
      limiter.stop();
    }
  });

  it("the body budget refuses what it cannot hold, counts system:masters' bodies, and takes released bytes back", () => {
    const budget = new BodyBudget(100);
    const first = budget.account(alice);
    first.reserve(60);
    expect(() => budget.account(alice).reserve(50)).to.throw('Too many requests');
    budget.account(admin).reserve(50);
    expect(budget.bytesHeld).to.equal(110);
    first.release();
    expect(budget.bytesHeld).to.equal(50);
    budget.account(alice).reserve(50);
    expect(() => new BodyBudget(0).account(alice).reserve(1e12), '0 = no limit').to.not.throw();
  });
});

describe('core/server: in-flight config and flags', function () {
  this.timeout(30_000);

  it("defaults to upstream's 400 read-only and 200 mutating, 32 s header and 90 s idle timeouts; overrides win", async () => {
    const defaults = (await loadConfigFromObject({}, '(test)')).server;
    expect(defaults).to.include({
      maxRequestsInflight: 400,
      maxMutatingRequestsInflight: 200,
      maxInflightBodyBytes: 32 * 1024 * 1024,
      requestHeaderTimeoutSeconds: 32,
      idleTimeoutSeconds: 90,
    });
    const flagged = await loadConfigFromObject({ server: { maxRequestsInflight: 5 } }, '(test)', {
      maxRequestsInflight: 0,
      maxMutatingRequestsInflight: 3,
    });
    expect(flagged.server).to.include({ maxRequestsInflight: 0, maxMutatingRequestsInflight: 3 });
  });

  it('skiff up lists --max-requests-inflight and --max-mutating-requests-inflight; a bad value exits 2', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
    expect(run(['up', '--help']).stdout)
      .to.contain('--max-requests-inflight')
      .and.contain('--max-mutating-requests-inflight');
    const bad = run(['apiserver', '--max-requests-inflight', '-1', '--secure-port', '0']);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('expected a whole number');
  });
});
