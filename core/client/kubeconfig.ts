/**
 * Reading a kubeconfig into HTTPS client options: the current context's cluster (server, CA,
 * tls-server-name, insecure-skip-tls-verify) and user (client certificate and key, token, or basic
 * credentials), each either inline (`-data`, base64) or a file relative to the kubeconfig, as
 * kubectl resolves them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SkiffError } from '../errors.js';

export interface ConnectionOptions {
  /** https://host:port (http:// also works, for the insecure port). */
  server: string;
  /** PEM of the CA(s) to trust; default: Node's bundled roots. */
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
  username?: string;
  password?: string;
  /** Check the serving certificate against this name instead of the URL's host. */
  servername?: string;
  insecureSkipTlsVerify?: boolean;
}

type Section = Record<string, unknown>;
interface Named {
  name?: string;
  [key: string]: unknown;
}

const bad = (file: string, message: string, fix: string) =>
  new SkiffError('SKIFF_KUBECONFIG', `${file}: ${message}`, fix);

function named(file: string, list: unknown, key: 'cluster' | 'user' | 'context', name: string): Section {
  const found = (Array.isArray(list) ? (list as Named[]) : []).find((e) => e?.name === name);
  const section = found?.[key];
  if (!section || typeof section !== 'object') {
    throw bad(file, `no ${key} named "${name}"`, `add it under ${key}s:, or point the context at an existing one`);
  }
  return section as Section;
}

/** `<key>-data` (base64) or `<key>` (a path relative to the kubeconfig's directory). */
function material(file: string, section: Section, key: string): string | undefined {
  const data = section[`${key}-data`];
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64').toString('utf8');
  const path = section[key];
  if (typeof path !== 'string' || !path) return undefined;
  const full = resolve(dirname(file), path);
  try {
    return readFileSync(full, 'utf8');
  } catch (err) {
    throw bad(file, `cannot read ${key} ${full}: ${(err as Error).message}`, `fix the path given as ${key}`);
  }
}

function currentContext(file: string, doc: Section, wanted?: string): Section {
  const contexts = Array.isArray(doc.contexts) ? (doc.contexts as Named[]) : [];
  // Like kubectl, the file names its context; a file with a single context needs no name.
  const name =
    wanted ?? (doc['current-context'] as string | undefined) ?? (contexts.length === 1 ? contexts[0]!.name : undefined);
  if (!name) throw bad(file, 'no current-context is set', 'set current-context: to one of the contexts');
  return named(file, doc.contexts, 'context', name);
}

function parse(file: string): Section {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw bad(file, `cannot read the kubeconfig: ${(err as Error).message}`, 'give a readable kubeconfig (YAML)');
  }
  if (!doc || typeof doc !== 'object') throw bad(file, 'is empty', 'give a kubeconfig with clusters, users, contexts');
  return doc as Section;
}

export function readKubeconfig(path: string, context?: string): ConnectionOptions {
  const file = resolve(path);
  const doc = parse(file);
  const ctx = currentContext(file, doc, context);
  const cluster = named(file, doc.clusters, 'cluster', String(ctx.cluster ?? ''));
  const user = ctx.user ? named(file, doc.users, 'user', String(ctx.user)) : {};
  if (typeof cluster.server !== 'string' || !cluster.server) {
    throw bad(file, `cluster "${ctx.cluster}" has no server`, 'set server: https://host:port');
  }
  const out: ConnectionOptions = { server: cluster.server };
  const set = <K extends keyof ConnectionOptions>(key: K, value: ConnectionOptions[K] | undefined) => {
    if (value !== undefined && value !== '') out[key] = value;
  };
  set('ca', material(file, cluster, 'certificate-authority'));
  set('servername', cluster['tls-server-name'] as string | undefined);
  if (cluster['insecure-skip-tls-verify'] === true) out.insecureSkipTlsVerify = true;
  set('cert', material(file, user, 'client-certificate'));
  set('key', material(file, user, 'client-key'));
  if (!out.cert !== !out.key) {
    throw bad(file, `user "${ctx.user}" has a client certificate or a key, not both`, 'give both, or neither');
  }
  set('token', (user.token as string | undefined) ?? tokenFile(file, user));
  set('username', user.username as string | undefined);
  set('password', user.password as string | undefined);
  return out;
}

function tokenFile(file: string, user: Section): string | undefined {
  const path = user.tokenFile;
  if (typeof path !== 'string' || !path) return undefined;
  try {
    return readFileSync(resolve(dirname(file), path), 'utf8').trim();
  } catch (err) {
    throw bad(file, `cannot read tokenFile ${path}: ${(err as Error).message}`, 'fix the path given as tokenFile');
  }
}

/**
 * The API server's address as the admin kubeconfig in `dataDir` names it (the server writes it
 * with the address it actually serves): where a component started beside it, without --master,
 * connects. `code` is the component's error code when that file does not say.
 */
export function serverOfDataDir(dataDir: string, code: string): string {
  const path = join(dataDir, 'kubeconfig');
  try {
    return readKubeconfig(path).server;
  } catch {
    throw new SkiffError(
      code,
      `no --master was given, and ${path} does not say where the API server is`,
      'give --master https://host:port, or --kubeconfig FILE',
    );
  }
}
