/**
 * The two path forms of a proxy request, and upstream's `[scheme:]name[:port]` resource names.
 *   /api/v1/namespaces/{ns}/pods/{name}/proxy/{path}   (and nodes, services)
 *   /api/v1/proxy/namespaces/{ns}/pods/{name}/{path}   (removed upstream in 1.10; kept, deprecated)
 */
import { errors } from 'skiff/sdk/api';

export interface ProxyPath {
  /** The path up to the proxied part: where a backend's redirects are put back under. */
  prefix: string;
  /** The proxied path, percent-encoding kept: '' (none), '/', '/stats/', ... */
  suffix: string;
  /** The /api/v1/proxy/… form. */
  legacy: boolean;
}

/** Splits the raw request path; `namespaced` for pods and services. */
export function splitProxyPath(rawPath: string, namespaced: boolean): ProxyPath {
  const parts = rawPath.split('/');
  const legacy = parts[3] === 'proxy';
  // '', api, v1, [proxy,] [namespaces, ns,] kind, name [, proxy]
  const length = 6 + (namespaced ? 2 : 0);
  return {
    prefix: parts.slice(0, length).join('/'),
    suffix: parts.length > length ? `/${parts.slice(length).join('/')}` : '',
    legacy,
  };
}

export interface SchemeNamePort {
  scheme: '' | 'http' | 'https';
  name: string;
  port: string;
}

/** Upstream's SplitSchemeNamePort: "name", "name:port" or "scheme:name:port" (scheme http or https). */
export function splitSchemeNamePort(id: string): SchemeNamePort {
  const parts = id.split(':');
  const [a = '', b = '', c = ''] = parts;
  const valid = (s: SchemeNamePort) =>
    s.name !== '' && (s.scheme === '' || s.scheme === 'http' || s.scheme === 'https');
  let out: SchemeNamePort | undefined;
  if (parts.length === 1) out = { scheme: '', name: a, port: '' };
  else if (parts.length === 2) out = { scheme: '', name: a, port: b };
  else if (parts.length === 3) out = { scheme: a as SchemeNamePort['scheme'], name: b, port: c };
  if (!out || !valid(out)) throw errors.badRequest(`invalid request "${id}"`);
  return out;
}

/** The deprecation warning of the /api/v1/proxy/… form. */
export function legacyWarning(kind: string): string {
  return `the /api/v1/proxy/ path form is deprecated (removed upstream in Kubernetes v1.10); use the ${kind}/proxy subresource: /api/v1/.../${kind}/{name}/proxy/{path}`;
}
