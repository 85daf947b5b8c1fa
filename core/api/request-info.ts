/**
 * Parse a URL into what upstream calls RequestInfo: is it a resource request, which verb,
 * group/version/resource/name/subresource. Authorization and routing both use it.
 */
import { errors } from '../errors.js';

export interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  /** Kubernetes verb: get list watch create update patch delete deletecollection proxy, or the lower-cased HTTP method for non-resource paths. */
  verb: string;
  apiPrefix: 'api' | 'apis' | '';
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** Path segments after the subresource (e.g. for proxy). */
  rest: string[];
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw errors.badRequest(`malformed URL path segment "${segment}": bad percent-encoding`);
  }
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const WATCH_TRUE = new Set(['true', '1', 'True']);

function nonResource(path: string, method: string): RequestInfo {
  return {
    resourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    rest: [],
  };
}

export function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const parts = path.split('/').filter((p) => p !== '');
  const prefix = parts[0];
  if (prefix !== 'api' && prefix !== 'apis') return nonResource(path, method);
  let i = 1;
  let apiGroup = '';
  if (prefix === 'apis') {
    apiGroup = parts[i++] ?? '';
  }
  const apiVersion = parts[i++] ?? '';
  // /api, /apis, /apis/<group>, /api/v1, /apis/<g>/<v> are discovery: non-resource requests.
  if (!apiVersion || i >= parts.length) return nonResource(path, method);

  const info: RequestInfo = {
    ...nonResource(path, method),
    resourceRequest: true,
    apiPrefix: prefix,
    apiGroup,
    apiVersion,
  };
  let verbFromPath = '';
  // Deprecated path forms: /api/v1/watch/... and /api/v1/proxy/...
  if (parts[i] === 'watch' || parts[i] === 'proxy') {
    verbFromPath = parts[i++]!;
  }
  let rest = parts.slice(i).map(decodeSegment);
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    // /api/v1/namespaces/<name>[/status|/finalize] is the namespace object itself (it is also its
    // own namespace); anything else below it is a namespaced resource.
    info.namespace = rest[1]!;
    if (rest.length >= 3 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  info.resource = rest[0] ?? '';
  info.name = rest[1] ?? '';
  info.subresource = rest[2] ?? '';
  info.rest = rest.slice(3);
  if (verbFromPath === 'proxy') {
    // /api/v1/proxy/namespaces/<ns>/pods/<name>/<path...>: everything after the name is the proxied path.
    info.rest = rest.slice(2);
    info.subresource = '';
  }
  info.verb = verbFor(method, info, query, verbFromPath);
  return info;
}

function verbFor(method: string, info: RequestInfo, query: URLSearchParams, verbFromPath: string): string {
  if (verbFromPath === 'proxy') return 'proxy';
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD': {
      const watching = verbFromPath === 'watch' || WATCH_TRUE.has(query.get('watch') ?? '');
      if (watching) return 'watch';
      return info.name ? 'get' : 'list';
    }
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return info.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}
