/**
 * Set-up for the kubelet server's tests: the kubelet harness (real API server, runtime-process with
 * its own prefix and range) plus who may call the kubelet — bearer tokens (authn-token-file) for
 * users holding one nodes/<subresource> each through the bootstrap roles, a user holding nothing,
 * and the API server's client certificate (CN kube-apiserver-kubelet-client, bound to
 * system:kubelet-api-admin by roles.yaml) from the test server's PKI — and an HTTPS client that
 * presents either.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { KubeObject } from 'skiff/sdk';
import { PKI } from 'skiff/sdk/auth';
import { runtimeKey } from 'skiff/sdk/runtime';
import { parse, stringify } from 'yaml';
import { type KubeletConfig, kubeletConfigSchema } from '../../../plugins/node-kubelet/config.js';
import { Kubelet } from '../../../plugins/node-kubelet/kubelet.js';
import { nodeUser } from '../../../plugins/node-kubelet/node-names.js';
import { FAST, type KubeletHarness, NODES, startHarness, waitFor } from './helpers.js';

/** A token per user; each user holds what its name says (roles below). */
export const TOKENS = {
  stats: 'stats-token',
  log: 'log-token',
  metrics: 'metrics-token',
  proxy: 'proxy-token',
  spec: 'spec-token',
  nobody: 'nobody-token',
} as const;

const EXTRA_ROLES = {
  'test:kubelet-stats': [{ verbs: ['get', 'create'], apiGroups: [''], resources: ['nodes/stats'] }],
  'test:kubelet-log': [{ verbs: ['get'], apiGroups: [''], resources: ['nodes/log'] }],
  'test:kubelet-metrics': [{ verbs: ['get'], apiGroups: [''], resources: ['nodes/metrics'] }],
  'test:kubelet-proxy': [{ verbs: ['get', 'create'], apiGroups: [''], resources: ['nodes/proxy'] }],
  'test:kubelet-spec': [{ verbs: ['get'], apiGroups: [''], resources: ['nodes/spec'] }],
};

export interface ClientIdentity {
  certPem?: string;
  keyPem?: string;
  token?: string;
}

export interface ServerHarness extends KubeletHarness {
  /** The API server's kubelet client certificate (full access). */
  apiserverClient: ClientIdentity;
  /** A certificate from the same CA for a user holding nothing. */
  strangerClient: ClientIdentity;
  /** A kubelet whose server trusts the cluster CA; `port` is auto unless given. */
  serving(name: string, config?: Partial<KubeletConfig>): Promise<Kubelet>;
  /** The port the node reports in status.daemonEndpoints. */
  portOf(name: string): Promise<number>;
}

export async function startServerHarness(): Promise<ServerHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-kubelet-server-'));
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(
    tokenFile,
    Object.entries(TOKENS)
      .map(([user, token]) => `${token},${user}-user,${user}-uid`)
      .join('\n'),
  );
  const rules = parse(
    readFileSync(new URL('../../../plugins/authz-bootstrap-roles/roles.yaml', import.meta.url), 'utf8'),
  );
  Object.assign(rules.roles, EXTRA_ROLES);
  for (const name of ['stats', 'log', 'metrics', 'proxy', 'spec']) {
    rules.bindings.push({ role: `test:kubelet-${name}`, users: [`${name}-user`] });
  }
  const rulesFile = join(dir, 'roles.yaml');
  writeFileSync(rulesFile, stringify(rules));
  const h = await startHarness({
    'authn-token-file': { config: { tokenAuthFile: tokenFile } },
    'authz-bootstrap-roles': { config: { rulesFile } },
  });
  const pki = h.server.server.use(PKI);
  const clientCA = pki.caCertificate();
  const asIdentity = (user: string) => {
    const c = pki.clientCredentials({ user });
    return { certPem: c.certPem, keyPem: c.keyPem };
  };
  const mine: Kubelet[] = [];
  const logger = pino({ level: process.env.SKIFF_TEST_LOG ?? 'silent' });
  const close = h.close.bind(h);
  return Object.assign(h, {
    apiserverClient: asIdentity('kube-apiserver-kubelet-client'),
    strangerClient: asIdentity('stranger'),
    async serving(name: string, config: Partial<KubeletConfig> = {}) {
      const root = mkdtempSync(join(tmpdir(), 'skiff-kubelet-'));
      h.roots.push(root);
      const kubelet = new Kubelet({
        nodeName: name,
        client: h.server.server.client(nodeUser(name)),
        runtime: h.server.server.use(runtimeKey('process')),
        config: kubeletConfigSchema.parse({ ...FAST, port: 'auto', ...config }),
        rootDir: root,
        logger: logger.child({ node: name }),
        localIndex: mine.length + 10,
        clientCA,
      });
      mine.push(kubelet);
      await kubelet.start();
      return kubelet;
    },
    async portOf(name: string) {
      const node = await waitFor(
        `node ${name} to report its kubelet port`,
        () => h.admin.get(NODES, '', name),
        (n: KubeObject) =>
          ((n.status as { daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } })?.daemonEndpoints?.kubeletEndpoint
            ?.Port ?? 0) > 0,
      );
      return (node.status as { daemonEndpoints: { kubeletEndpoint: { Port: number } } }).daemonEndpoints.kubeletEndpoint
        .Port;
    },
    async close() {
      await Promise.allSettled(mine.map((k) => k.stop({ stopPods: true })));
      await close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request to a kubelet, presenting a certificate or a token (or nothing). */
export function kubeletRequest(
  port: number,
  path: string,
  who: ClientIdentity = {},
  options: { method?: string; body?: string; headers?: Record<string, string>; plain?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const send = options.plain ? httpRequest : request;
    const req = send(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        rejectUnauthorized: false,
        cert: who.certPem,
        key: who.keyPem,
        headers: { ...(who.token ? { Authorization: `Bearer ${who.token}` } : {}), ...options.headers },
        agent: false,
      } as never,
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`request to ${path} timed out`)));
    req.end(options.body);
  });
}

export { waitFor };
