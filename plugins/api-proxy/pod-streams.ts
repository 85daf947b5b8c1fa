/**
 * pods/log, pods/exec, pods/attach and pods/portforward: the pod's kubelet paths, as upstream's
 * LogLocation, ExecLocation, AttachLocation and PortForwardLocation build them — the pod must be
 * on a node, the container is the only one or the one named, and exec and attach need a running
 * pod. Logs stream as plain text; the others must be upgrades.
 */
import { errors, type KubeObject, StatusError } from 'skiff/sdk/api';

/** The kubelet's options for /containerLogs (PodLogOptions' query names). */
const LOG_OPTIONS = ['follow', 'previous', 'tailLines', 'sinceSeconds', 'sinceTime', 'timestamps', 'limitBytes'];
const COMMAND_OPTIONS = ['command', 'stdin', 'stdout', 'stderr', 'tty'];

interface PodSpec {
  nodeName?: string;
  containers?: { name: string }[];
  initContainers?: { name: string }[];
  ephemeralContainers?: { name: string }[];
}

export function nodeOf(pod: KubeObject): string | undefined {
  return (pod.spec as PodSpec).nodeName || undefined;
}

/** The container a request is for: the named one, or the pod's only one. */
export function containerOf(pod: KubeObject, query: URLSearchParams): string {
  const spec = pod.spec as PodSpec;
  const name = pod.metadata.name;
  const containers = (spec.containers ?? []).map((c) => c.name);
  const requested = query.get('container') ?? '';
  if (!requested) {
    if (containers.length === 1) return containers[0]!;
    const all = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
    throw errors.badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${all.map((c) => c.name).join(' ')}]`,
    );
  }
  const known = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  if (!known.some((c) => c.name === requested))
    throw errors.badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

const enc = encodeURIComponent;

export function logPath(pod: KubeObject, query: URLSearchParams): string {
  const container = containerOf(pod, query);
  return `/containerLogs/${enc(pod.metadata.namespace!)}/${enc(pod.metadata.name!)}/${enc(container)}${picked(query, LOG_OPTIONS)}`;
}

export function commandPath(kind: 'exec' | 'attach', pod: KubeObject, query: URLSearchParams): string {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') {
    throw errors.badRequest(`cannot exec into or attach to a completed pod; current phase is ${phase}`);
  }
  const container = containerOf(pod, query);
  return `/${kind}/${enc(pod.metadata.namespace!)}/${enc(pod.metadata.name!)}/${enc(container)}${picked(query, COMMAND_OPTIONS)}`;
}

/** Port-forward: the API's `ports` are the kubelet's `port`. */
export function portForwardPath(pod: KubeObject, query: URLSearchParams): string {
  const out = new URLSearchParams();
  for (const port of query.getAll('ports')) out.append('port', port);
  const q = out.toString();
  return `/portForward/${enc(pod.metadata.namespace!)}/${enc(pod.metadata.name!)}${q ? `?${q}` : ''}`;
}

function picked(query: URLSearchParams, names: readonly string[]): string {
  const out = new URLSearchParams();
  for (const name of names) for (const value of query.getAll(name)) out.append(name, value);
  const q = out.toString();
  return q ? `?${q}` : '';
}

/** Upstream's GenericHttpResponseChecker for pods/log: the kubelet's error text as a Status. */
export function logResponseError(name: string) {
  return (code: number, body: string): Error => {
    if (code === 400) return errors.badRequest(body);
    if (code === 404) return errors.notFound({ group: '', resource: 'pods/log' }, name);
    if (code === 500) return errors.internal(body);
    return new StatusError(code, code === 403 ? 'Forbidden' : code === 401 ? 'Unauthorized' : '', body);
  };
}
