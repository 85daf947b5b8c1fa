/** authz-abac: the seed's policy file, upstream's matching rules, reloads, and kubectl over HTTPS. */
import { spawnSync } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { pino } from 'pino';
import type { AuthorizationAttributes } from '../../../core/auth-types.js';
import { runAuthorization } from '../../../core/chains.js';
import { SkiffError } from '../../../core/errors.js';
import type { PluginContext } from '../../../core/plugins/contract.js';
import abacPlugin from '../../../plugins/authz-abac/index.js';
import { lint } from '../../../plugins/authz-abac/lint.js';
import { firstMatch, PolicyIndex, parsePolicy } from '../../../plugins/authz-abac/policy.js';
import { kubectl, kubectlPath } from '../../helpers/kubectl.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { NO_KUBECTL, skipBecause } from '../../helpers/skip.js';
import { waitFor } from '../../helpers/wait.js';

const SEED_POLICY = new URL('../../../config/examples/abac-policy.jsonl', import.meta.url).pathname;
const KUBECTL_POLICY = new URL('../../../config/examples/abac-policy-kubectl.jsonl', import.meta.url).pathname;
const SEED_TOKENS = new URL('../../../config/examples/abac-tokens.csv', import.meta.url).pathname;

const user = (name: string, groups: string[] = []) => ({ name, groups: [...groups, 'system:authenticated'] });
function req(
  name: string,
  verb: string,
  resource: string,
  namespace = 'default',
  apiGroup = '',
): AuthorizationAttributes {
  return {
    user: user(name),
    verb,
    resourceRequest: true,
    namespace,
    apiGroup,
    apiVersion: 'v1',
    resource,
    subresource: '',
    name: '',
    path: '',
  };
}
function path(name: string, verb: string, p: string): AuthorizationAttributes {
  return {
    user: user(name),
    verb,
    resourceRequest: false,
    namespace: '',
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    name: '',
    path: p,
  };
}

describe('plugins: authz-abac policy files', () => {
  const seed = parsePolicy(readFileSync(SEED_POLICY, 'utf8'));

  it('loads the seed example exactly as printed, warning about "ns" and the spaces by line', () => {
    expect(seed.errors).to.deep.equal([]);
    expect(seed.rules.map((r) => r.line)).to.deep.equal([1, 2, 3, 4]);
    const line4 = seed.warnings.filter((w) => w.line === 4).map((w) => w.message);
    expect(
      line4.some((m) => m.includes('"ns" read as "namespace"') && m.includes('upstream Kubernetes never read "ns"')),
    ).to.equal(true);
    expect(line4.some((m) => m.includes('surrounding spaces'))).to.equal(true);
    expect(seed.rules[3]).to.include({ user: 'bob', resource: 'pods', readonly: true, namespace: 'myNamespace' });
  });

  it("behaves as the seed intends: the four people's rights, line by line", () => {
    const allowed = (a: AuthorizationAttributes) => firstMatch(seed.rules, a)?.line;
    expect(allowed(req('alice', 'create', 'pods', 'anywhere'))).to.equal(1);
    expect(allowed(req('alice', 'delete', 'deployments', 'x', 'apps'))).to.equal(1);
    expect(allowed(path('alice', 'get', '/healthz'))).to.equal(1);
    expect(allowed(req('kubelet', 'get', 'pods', 'kube-system'))).to.equal(2);
    expect(allowed(req('kubelet', 'watch', 'pods', ''))).to.equal(2);
    expect(allowed(req('kubelet', 'create', 'pods'))).to.equal(undefined);
    expect(allowed(req('kubelet', 'create', 'events'))).to.equal(3);
    expect(allowed(req('kubelet', 'get', 'secrets'))).to.equal(undefined);
    expect(allowed(req('bob', 'list', 'pods', 'myNamespace'))).to.equal(4);
    expect(allowed(req('bob', 'list', 'pods', 'default'))).to.equal(undefined);
    expect(allowed(req('bob', 'create', 'pods', 'myNamespace'))).to.equal(undefined);
    expect(allowed(path('bob', 'get', '/version'))).to.equal(undefined);
  });

  it('reads v1beta1 Policy lines: groups, apiGroup, wildcards and non-resource path prefixes', () => {
    const p = parsePolicy(
      [
        '# comment, then a blank line',
        '',
        '{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"group": "system:authenticated", "readonly": true, "nonResourcePath": "/apis/*"}}',
        '{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "*", "namespace": "*", "resource": "leases", "apiGroup": "coordination.k8s.io"}}',
        '{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"group": "ops", "namespace": "prod", "resource": "*", "apiGroup": "*"}}',
      ].join('\n'),
    );
    expect(p.errors).to.deep.equal([]);
    expect(firstMatch(p.rules, path('anyone', 'get', '/apis/apps/v1'))?.line).to.equal(3);
    expect(firstMatch(p.rules, path('anyone', 'post', '/apis/apps/v1'))).to.equal(undefined);
    expect(firstMatch(p.rules, path('anyone', 'get', '/api'))).to.equal(undefined);
    expect(firstMatch(p.rules, req('anyone', 'update', 'leases', 'x', 'coordination.k8s.io'))?.line).to.equal(4);
    expect(firstMatch(p.rules, req('anyone', 'update', 'leases', 'x', ''))).to.equal(undefined);
    const ops = { ...req('carol', 'delete', 'pods', 'prod'), user: user('carol', ['ops']) };
    expect(firstMatch(p.rules, ops)?.line).to.equal(5);
    const anonymous = { ...req('system:anonymous', 'update', 'leases', 'x', 'coordination.k8s.io') };
    anonymous.user = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    expect(firstMatch(p.rules, anonymous), '"*" means any authenticated user').to.equal(undefined);
  });

  it('the index answers exactly as a scan of the whole file', () => {
    const lines: string[] = [];
    const users = ['alice', 'bob', 'carol', '*'];
    const groups = ['devs', 'ops', '*', ''];
    for (let i = 0; i < 200; i++) {
      const spec: Record<string, unknown> = {
        resource: ['pods', 'services', '*'][i % 3],
        namespace: ['a', 'b', '*'][i % 3],
      };
      if (i % 4 !== 3) spec.user = users[i % users.length];
      if (groups[i % groups.length]) spec.group = groups[(i * 7) % groups.length];
      if (i % 5 === 0) spec.readonly = true;
      lines.push(
        JSON.stringify({
          apiVersion: 'abac.authorization.kubernetes.io/v1beta1',
          kind: 'Policy',
          spec: { apiGroup: '*', ...spec },
        }),
      );
    }
    const p = parsePolicy(lines.join('\n'));
    const index = new PolicyIndex(p.rules);
    for (const name of ['alice', 'bob', 'dave']) {
      for (const g of [[], ['devs'], ['ops', 'devs']]) {
        for (const verb of ['get', 'create']) {
          for (const resource of ['pods', 'services', 'secrets']) {
            const a = { ...req(name, verb, resource, 'a'), user: user(name, g) };
            expect(index.firstMatch(a)?.line, `${name} ${g} ${verb} ${resource}`).to.equal(
              firstMatch(p.rules, a)?.line,
            );
          }
        }
      }
    }
  });

  it('reports broken lines and unknown keys with their line numbers', () => {
    const p = parsePolicy('{"user": "a"}\nnot json\n{"user": "b", "verb": "get"}\n{"apiVersion": "v2"}\n');
    expect(p.errors.map((e) => e.line)).to.deep.equal([2, 4]);
    expect(p.warnings).to.deep.include({ line: 3, message: 'unknown key "verb" ignored', unknownKey: true });
  });

  it('refuses every field of the wrong type, by line, and keeps no rule from such a line', () => {
    const v1 = (spec: string) =>
      `{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": ${spec}}`;
    const lines: [string, string][] = [
      [
        '{"user": "bob", "resource": "pods", "readonly": "true"}',
        '"readonly" must be true or false (a JSON boolean), got the string "true"',
      ],
      ['{"user": "bob", "readonly": "yes"}', '"readonly" must be true or false (a JSON boolean), got the string "yes"'],
      ['{"user": "bob", "readonly": 1}', '"readonly" must be true or false (a JSON boolean), got the number 1'],
      ['{"user": "bob", "readonly": null}', '"readonly" must be true or false (a JSON boolean), got null'],
      ['{"user": 7}', '"user" must be a string, got the number 7'],
      ['{"user": "bob", "group": ["a", "b"]}', '"group" must be a string, got an array ["a","b"]'],
      ['{"user": "bob", "resource": {"name": "pods"}}', '"resource" must be a string, got an object {"name":"pods"}'],
      ['{"user": "bob", "namespace": false}', '"namespace" must be a string, got the boolean false'],
      ['{"user": "bob", "ns": 5}', '"ns" must be a string, got the number 5'],
      [v1('{"user": "bob", "apiGroup": 1}'), '"spec.apiGroup" must be a string, got the number 1'],
      [v1('{"user": "bob", "nonResourcePath": true}'), '"spec.nonResourcePath" must be a string, got the boolean true'],
      [
        v1('{"user": "bob", "readonly": "true", "resource": "*", "namespace": "*"}'),
        '"spec.readonly" must be true or false',
      ],
      [v1('"user=bob"'), '"spec" must be an object, got the string "user=bob"'],
      [v1('[]'), '"spec" must be an object, got an array []'],
      ['{"apiVersion": 1, "user": "bob"}', '"apiVersion" must be a string, got the number 1'],
      [
        '{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Polcy", "spec": {}}',
        'kind must be "Policy"',
      ],
      ['[{"user": "bob"}]', 'not a JSON object, got an array'],
      ["{'user': 'bob'}", 'not valid JSON'],
    ];
    const p = parsePolicy(['{"user": "alice"}', ...lines.map(([line]) => line)].join('\n'));
    expect(
      p.rules.map((r) => r.line),
      'only the good line is a rule',
    ).to.deep.equal([1]);
    lines.forEach(([line, message], i) => {
      const errors = p.errors.filter((e) => e.line === i + 2);
      expect(errors, line).to.have.length(1);
      expect(errors[0]!.message, line).to.contain(message);
      expect(errors[0]!.fix, line).to.be.a('string').and.not.equal('');
    });
  });

  it("reads upstream's other spellings: an empty apiVersion and the v0 apiVersion are unversioned lines", () => {
    const p = parsePolicy(
      '{"apiVersion": "", "user": "bob", "resource": "pods"}\n{"apiVersion": "abac.authorization.kubernetes.io/v0", "kind": "Policy", "user": "eve", "readonly": true}\n',
    );
    expect(p.errors).to.deep.equal([]);
    expect(p.warnings).to.deep.equal([]);
    expect(firstMatch(p.rules, req('bob', 'delete', 'pods', 'x'))?.line).to.equal(1);
    expect(firstMatch(p.rules, req('eve', 'get', 'secrets', 'x'))?.line).to.equal(2);
    expect(firstMatch(p.rules, req('eve', 'delete', 'secrets', 'x'))).to.equal(undefined);
  });

  it('names the key a writer probably meant, and says when "ns" is ignored', () => {
    const p = parsePolicy(
      '{"user": "bob", "readOnly": true}\n{"user": "bob", "namespaces": "a"}\n{"user": "bob", "nonResourcePath": "/healthz"}\n{"user": "bob", "ns": "a", "namespace": "b"}\n',
    );
    const at = (line: number) => p.warnings.filter((w) => w.line === line).map((w) => w.message);
    expect(at(1)).to.deep.equal([
      'unknown key "readOnly" ignored (did you mean "readonly"? keys are case-sensitive); as written, the line is not read-only',
    ]);
    expect(at(2)[0]).to.contain('(did you mean "namespace"?');
    expect(at(3)[0]).to.contain('only abac.authorization.kubernetes.io/v1beta1 Policy lines know it');
    expect(at(4)).to.deep.equal(['unknown key "ns" ignored: "namespace" is given too']);
    expect(p.rules[3]!.namespace).to.equal('b');
    expect(p.warnings.every((w) => w.unknownKey)).to.equal(true);
  });
});

describe('skiff abac check / lint', function () {
  this.timeout(60_000);
  const BIN = new URL('../../../scripts/skiff.mjs', import.meta.url).pathname;
  const skiff = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

  it('lint finds shadowed lines, wide lines and unknown keys', () => {
    const findings = lint(
      parsePolicy(
        '{"user":"alice"}\n{"user":"alice", "resource":"pods", "namespace":"x"}\n{"user":"bob","resource":"pods","verb":"get"}\n',
      ),
    );
    expect(findings).to.include('line 2: shadowed: line 1 already allows everything it allows');
    expect(findings.some((f) => f.startsWith('line 1: wide: has no resource'))).to.equal(true);
    expect(findings).to.include('line 3: warning: unknown key "verb" ignored');
    expect(findings.some((f) => f.startsWith('line 3: shadowed'))).to.equal(false);
  });

  it('check prints the deciding line, and no-opinion when nothing matches', () => {
    const base = ['abac', 'check', '--policy', KUBECTL_POLICY, '--user', 'bob', '--verb', 'list', '--resource', 'pods'];
    const yes = skiff([...base, '--namespace', 'my-namespace']);
    expect(yes.status, yes.stderr).to.equal(0);
    expect(yes.stdout).to.match(/^allow: line 4: /);
    expect(skiff([...base, '--namespace', 'default']).stdout).to.match(/^no-opinion/);
  });

  it('lint explains the seed\'s line 4 as printed: the "ns" key, the spaces, and a namespace that cannot exist', () => {
    const out = skiff(['abac', 'lint', SEED_POLICY]);
    expect(out.status, out.stderr).to.equal(0);
    expect(out.stdout).to.contain('line 4: warning: key "ns" read as "namespace"');
    expect(out.stdout).to.contain('line 4: warning: namespace "myNamespace" is not a valid namespace name');
    expect(skiff(['abac', 'lint', KUBECTL_POLICY]).stdout).to.not.contain('warning');
    const check = skiff(
      ['abac', 'check', '--policy', SEED_POLICY, '--user', 'bob', '--verb', 'list'].concat([
        '--resource',
        'pods',
        '--namespace',
        'myNamespace',
      ]),
    );
    expect(check.stdout).to.match(/^allow: line 4: /);
    expect(check.stdout).to.contain('warning: --namespace myNamespace is not a valid namespace name');
  });

  describe('a policy the server would refuse', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-abac-cli-'));
    const broken = join(dir, 'broken.jsonl');
    writeFileSync(broken, '{"user": "alice"}\n{"user": "bob", "resource": "pods", "readonly": "true"}\n');
    const unknownKey = join(dir, 'unknown-key.jsonl');
    writeFileSync(unknownKey, '{"user": "bob", "resource": "pods", "readOnly": true}\n');
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('lint reports it as an error with its line and fix, and exits 1', () => {
      const out = skiff(['abac', 'lint', broken]);
      expect(out.status).to.equal(1);
      expect(out.stdout).to.contain(
        'line 2: error: "readonly" must be true or false (a JSON boolean), got the string "true" (fix: write "readonly": true without quotes',
      );
      expect(out.stdout).to.contain('1 error(s): the server refuses to load this file');
    });

    it('check refuses to evaluate it, with the message the server stops with', async () => {
      const out = skiff([
        'abac',
        'check',
        '--policy',
        broken,
        '--user',
        'bob',
        '--verb',
        'delete',
        '--resource',
        'pods',
      ]);
      expect(out.status).to.equal(2);
      expect(out.stdout).to.equal('');
      let serverMessage = '';
      try {
        await startTestServer({ plugins: { 'authz-abac': { config: { policyFile: broken } } } }).then((ts) =>
          ts.close(),
        );
      } catch (err) {
        serverMessage = (err as SkiffError).describe();
      }
      expect(serverMessage).to.contain(`${broken}:2:`);
      expect(out.stderr.trim()).to.equal(serverMessage);
    });

    it('--strict treats unknown keys as --abac-strict does: errors', () => {
      const loose = skiff(['abac', 'lint', unknownKey]);
      expect(loose.status).to.equal(0);
      expect(loose.stdout).to.contain('line 1: warning: unknown key "readOnly" ignored (did you mean "readonly"?');
      const strict = skiff(['abac', 'lint', '--strict', unknownKey]);
      expect(strict.status).to.equal(1);
      expect(strict.stdout).to.contain('line 1: error: unknown key "readOnly" ignored');
      const args = ['abac', 'check', '--policy', unknownKey, '--user', 'bob', '--verb', 'get', '--resource', 'pods'];
      expect(skiff(args).status).to.equal(0);
      expect(skiff([...args, '--strict']).status).to.equal(2);
    });
  });
});

describe('plugins: authz-abac reloads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-abac-reload-'));
  const policy = join(dir, 'policy.jsonl');
  const closers: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The plugin set up on its own, with what it logs, its authorizer and its health check. */
  function setUp() {
    const logs: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    let authorize: ((a: AuthorizationAttributes) => unknown) | undefined;
    let check: (() => void | Promise<void>) | undefined;
    const ctx = {
      name: 'authz-abac',
      config: { policyFile: policy, strict: false, reloadIntervalMs: 20 },
      logger,
      provide: {
        authorizer: (fn: typeof authorize) => {
          authorize = fn;
        },
        healthCheck: (_name: string, kinds: string[], fn: typeof check) => {
          expect(kinds, 'not under /livez or /readyz').to.deep.equal([]);
          check = fn;
        },
      },
      onClose: (release: () => void) => closers.push(release),
    } as unknown as PluginContext<{ policyFile: string; strict: boolean; reloadIntervalMs: number }>;
    abacPlugin.setup(ctx);
    const decide = (a: AuthorizationAttributes) => (authorize!(a) as { decision: string }).decision;
    const healthy = () => {
      try {
        check!();
        return true;
      } catch {
        return false;
      }
    };
    return { logs, decide, healthy };
  }

  it('a broken new file keeps the last good policy, and the log says so with the file, line and fix', async () => {
    writeFileSync(policy, '{"user": "bob", "resource": "pods", "readonly": true}\n');
    const { logs, decide, healthy } = setUp();
    expect(decide(req('bob', 'delete', 'pods'))).to.equal('no-opinion');
    writeFileSync(policy, '{"user": "bob", "resource": "pods", "readonly": "true"}\n');
    await waitFor(
      'the refused reload',
      async () => healthy(),
      (ok) => !ok,
    );
    expect(decide(req('bob', 'delete', 'pods')), 'the old policy is in force').to.equal('no-opinion');
    expect(decide(req('bob', 'get', 'pods'))).to.equal('allow');
    const error = logs.find((l) => l.level === 50);
    expect(error?.msg).to.match(/^ABAC policy NOT reloaded: still enforcing the policy loaded at \S+\./);
    expect(error?.msg).to.contain(`${policy}:1: "readonly" must be true or false`);
    expect(error?.msg).to.contain('Fix: line 1: write "readonly": true without quotes');
    writeFileSync(policy, '{"user": "bob", "resource": "pods"}\n');
    await waitFor(
      'the fixed file',
      async () => healthy(),
      (ok) => ok,
    );
    expect(decide(req('bob', 'delete', 'pods'))).to.equal('allow');
    expect(logs.map((l) => l.msg)).to.include('ABAC policy file fixed: its new contents are in force');
  });

  // fs.watchFile took its first stat on the thread pool some time after it started; a file changed
  // before that stat (right after start-up, on a busy machine) was never reloaded. The thread pool is
  // kept busy here so that the old watcher's first stat comes after the change, every time.
  it('a change right after start-up, while the thread pool is busy, is still reloaded', async () => {
    writeFileSync(policy, '{"user": "bob", "resource": "pods", "readonly": true}\n');
    const busy = Array.from({ length: 8 }, () => promisify(pbkdf2)('x', 'salt', 100_000, 32, 'sha256'));
    const { decide } = setUp();
    writeFileSync(policy, '{"user": "bob", "resource": "pods"}\n');
    await Promise.all(busy);
    await waitFor(
      'the reload of the change',
      async () => decide(req('bob', 'delete', 'pods')),
      (d) => d === 'allow',
      3_000,
    );
  });
});

describe('plugins: authz-abac in a server', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'skiff-abac-'));
  const policy = join(dir, 'policy.jsonl');
  copyFileSync(KUBECTL_POLICY, policy);
  let ts: TestServer;

  before(async () => {
    ts = await startTestServer({
      secure: true,
      plugins: {
        'authn-token-file': { config: { tokenAuthFile: SEED_TOKENS } },
        'authz-abac': { config: { policyFile: policy, reloadIntervalMs: 100 } },
      },
    });
    await fetch(`${ts.url}/api/v1/namespaces`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'my-namespace' } }),
    });
  });
  after(async () => {
    await ts?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (name: string) => ({ name, groups: ['system:authenticated'] });

  it('allows through the chain with a reason naming the file and line', async () => {
    const d = await runAuthorization(ts.server.hooks, { ...req('kubelet', 'create', 'events'), user: as('kubelet') });
    expect(d.decision).to.equal('allow');
    expect(d.authorizer).to.equal('authz-abac');
    expect(d.reason).to.contain(`${policy} line 3`);
    const none = await runAuthorization(ts.server.hooks, { ...req('bob', 'get', 'secrets'), user: as('bob') });
    expect(none.decision).to.equal('no-opinion');
  });

  it('kubectl as bob: reads pods only where the policy says, with upstream 403 text elsewhere', async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, ts.pki!.ca.certPem);
    const bob = (args: string[]) =>
      kubectl(ts.secureUrl!, [`--certificate-authority=${caFile}`, '--token=bob-token', ...args]);
    const denied = await bob(['get', 'pods', '-n', 'default']);
    expect(denied.code).to.not.equal(0);
    expect(denied.stderr, denied.stderr).to.contain(
      'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"',
    );
    const canI = await bob(['auth', 'can-i', 'list', 'pods', '-n', 'my-namespace']);
    expect(canI.stdout.trim()).to.equal('yes');
    const listed = await bob(['get', 'pods', '-n', 'my-namespace']);
    expect(listed.code, listed.stderr).to.equal(0);
    const cannot = await bob(['auth', 'can-i', 'create', 'pods', '-n', 'my-namespace']);
    expect(cannot.stdout.trim()).to.equal('no');
    const alice = await kubectl(ts.secureUrl!, [
      `--certificate-authority=${caFile}`,
      '--token=alice-token',
      'get',
      'pods',
      '-A',
    ]);
    expect(alice.code, alice.stderr).to.equal(0);
  });

  it("the seed's example end to end: can-i and can-i --list for alice, kubelet and bob", async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, ts.pki!.ca.certPem);
    const canI = async (token: string, ...args: string[]) =>
      (
        await kubectl(ts.secureUrl!, [
          `--certificate-authority=${caFile}`,
          `--token=${token}`,
          'auth',
          'can-i',
          ...args,
        ])
      ).stdout.trim();
    expect(await canI('alice-token', 'delete', 'nodes')).to.equal('yes');
    expect(await canI('kubelet-token', 'watch', 'pods', '--all-namespaces')).to.equal('yes');
    expect(await canI('kubelet-token', 'create', 'pods')).to.equal('no');
    expect(await canI('kubelet-token', 'create', 'events', '-n', 'kube-system')).to.equal('yes');
    expect(await canI('bob-token', 'get', 'pods', '-n', 'default')).to.equal('no');
    const list = await kubectl(ts.secureUrl!, [
      `--certificate-authority=${caFile}`,
      '--token=bob-token',
      'auth',
      'can-i',
      '--list',
      '-n',
      'my-namespace',
    ]);
    expect(list.code, list.stderr).to.equal(0);
    expect(list.stdout, list.stdout).to.match(/^pods\.\*\s+\[\]\s+\[\]\s+\[get list watch\]/m);
    expect(list.stdout).to.match(/selfsubjectaccessreviews\.authorization\.k8s\.io/);
  });

  it('SubjectAccessReview and LocalSubjectAccessReview answer for another user, with the deciding line', async () => {
    const post = async (path: string, body: unknown) =>
      (
        await fetch(`${ts.url}${path}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json() as Promise<{ status: { allowed: boolean; reason?: string }; code?: number; message?: string }>;
    const sar = await post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: 'kubelet', resourceAttributes: { verb: 'create', resource: 'events', namespace: 'default' } },
    });
    expect(sar.status.allowed).to.equal(true);
    expect(sar.status.reason).to.contain('line 3');
    const lsar = await post('/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'LocalSubjectAccessReview',
      spec: { user: 'bob', resourceAttributes: { verb: 'list', resource: 'pods' } },
    });
    expect(lsar.status.allowed).to.equal(false);
    const both = await post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: 'bob' },
    });
    expect(both.code).to.equal(422);
  });

  it('kubectl as kubelet: reads pods everywhere, writes events, may not create pods', async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, ts.pki!.ca.certPem);
    const kubelet = (args: string[], input?: string) =>
      kubectl(ts.secureUrl!, [`--certificate-authority=${caFile}`, '--token=kubelet-token', ...args], input);
    expect((await kubelet(['get', 'pods', '-A'])).code).to.equal(0);
    const event =
      'apiVersion: v1\nkind: Event\nmetadata: {name: e1}\ninvolvedObject: {kind: Pod, name: p, namespace: default}\nreason: Started\n';
    const created = await kubelet(['create', '-f', '-', '--validate=false'], event);
    expect(created.code, created.stderr).to.equal(0);
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: busybox}]}\n';
    const refused = await kubelet(['create', '-f', '-', '--validate=false'], pod);
    expect(refused.stderr).to.contain('pods is forbidden: User "kubelet" cannot create resource "pods"');
  });

  it("impersonation: alice may act as bob (and gets bob's rights); bob may not act as alice", async function () {
    if (!kubectlPath) return skipBecause(this, NO_KUBECTL);
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, ts.pki!.ca.certPem);
    const as = (token: string, args: string[]) =>
      kubectl(ts.secureUrl!, [`--certificate-authority=${caFile}`, `--token=${token}`, ...args]);
    const who = await as('alice-token', ['--as=bob', '--as-group=auditors', 'auth', 'whoami']);
    expect(who.code, who.stderr).to.equal(0);
    expect(who.stdout)
      .to.match(/Username\s+bob/)
      .and.match(/Groups\s+\[auditors system:authenticated\]/);
    const asBob = await as('alice-token', ['--as=bob', 'get', 'pods', '-n', 'default']);
    expect(asBob.stderr).to.contain('User "bob" cannot list resource "pods"');
    const refused = await as('bob-token', ['--as=alice', 'get', 'pods', '-n', 'default']);
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.contain(
      'users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
  });

  it('re-reads the policy file when it changes, and keeps the old policy when the new one is broken', async () => {
    const bobGetsSecrets = async () =>
      (await runAuthorization(ts.server.hooks, { ...req('bob', 'get', 'secrets'), user: as('bob') })).decision;
    writeFileSync(policy, `${readFileSync(KUBECTL_POLICY, 'utf8')}{"user":"bob", "resource": "secrets"}\n`);
    const deadline = Date.now() + 10_000;
    while ((await bobGetsSecrets()) !== 'allow' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await bobGetsSecrets()).to.equal('allow');
    writeFileSync(policy, '{"user": broken\n');
    const health = async () => (await fetch(`${ts.url}/healthz/authz-abac-policy`)).status;
    await waitFor('the refused reload', health, (status) => status === 500);
    expect(await bobGetsSecrets(), 'a broken file keeps the previous policy').to.equal('allow');
    copyFileSync(KUBECTL_POLICY, policy);
    await waitFor('the fixed file', health, (status) => status === 200);
    expect(await bobGetsSecrets()).to.equal('no-opinion');
  });

  it('stops start-up on a broken file, and on unknown keys when strict', async () => {
    const broken = join(dir, 'broken.jsonl');
    writeFileSync(broken, '{"user": "a"}\n{oops\n');
    const strictFile = join(dir, 'strict.jsonl');
    writeFileSync(strictFile, '{"user": "a", "verbs": ["get"]}\n');
    for (const [file, strict, line] of [
      [broken, false, ':2:'],
      [strictFile, true, ':1:'],
    ] as const) {
      try {
        await startTestServer({ plugins: { 'authz-abac': { config: { policyFile: file, strict } } } });
        expect.fail('start-up should fail');
      } catch (err) {
        expect(err).to.be.instanceOf(SkiffError);
        expect((err as SkiffError).code).to.equal('SKIFF_ABAC_POLICY_INVALID');
        expect((err as Error).message).to.contain(line);
      }
    }
  });
});
