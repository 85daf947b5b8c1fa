/**
 * /containerLogs/<namespace>/<pod>/<container>: a container's log, with upstream's PodLogOptions
 * (follow, previous, tailLines or its old name tail, sinceSeconds, sinceTime, timestamps,
 * limitBytes). Bad values are upstream's answers: 400 {"message": "Unable to decode query."},
 * 422 {"message": "Invalid request."}; a pod or container the kubelet does not know, 404; no
 * previous instance or one that has not started, 400 with upstream's text.
 */
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KubeletState } from '../kubelet.js';
import { instancesOf } from '../pod-state.js';
import { CriLogReader, type LogOptions } from './cri-log.js';
import { type Exchange, reply } from './exchange.js';

interface Query {
  options: LogOptions;
  previous: boolean;
}

const isInt = (v: string) => /^-?\d+$/.test(v);

/** PodLogOptions from the query; a string is the error to answer with (400 or 422). */
function parseQuery(q: URLSearchParams): Query | { code: number; message: string } {
  const decodeError = { code: 400, message: '{"message": "Unable to decode query."}' };
  const invalid = { code: 422, message: '{"message": "Invalid request."}' };
  const bool = (name: string) => {
    const v = q.get(name);
    if (v === null || v === '') return false;
    if (['true', '1', 'True', 'TRUE'].includes(v)) return true;
    if (['false', '0', 'False', 'FALSE'].includes(v)) return false;
    return undefined;
  };
  const int = (name: string) => {
    const v = q.get(name);
    if (v === null) return null;
    return isInt(v) ? Number(v) : undefined;
  };
  const tail = q.get('tail');
  const tailLines = tail !== null ? (tail === 'all' ? null : isInt(tail) ? Number(tail) : undefined) : int('tailLines');
  const [follow, previous, timestamps] = [bool('follow'), bool('previous'), bool('timestamps')];
  const [sinceSeconds, limitBytes] = [int('sinceSeconds'), int('limitBytes')];
  const sinceTime = q.get('sinceTime');
  const sinceTimeMs = sinceTime === null ? null : Date.parse(sinceTime);
  if ([follow, previous, timestamps, sinceSeconds, limitBytes, tailLines].includes(undefined)) return decodeError;
  if (sinceTimeMs !== null && Number.isNaN(sinceTimeMs)) return decodeError;
  if ((tailLines ?? 0) < 0 || (limitBytes !== null && limitBytes! < 1) || (sinceSeconds !== null && sinceSeconds! < 1))
    return invalid;
  if (sinceSeconds !== null && sinceTimeMs !== null) return invalid;
  const stream = q.get('stream');
  if (stream && stream !== 'All') {
    return {
      code: 400,
      message: `unable to return the given log stream: "${stream}". Please enable PodLogsQuerySplitStreams feature gate in kubelet`,
    };
  }
  const since = sinceSeconds !== null ? Date.now() - sinceSeconds! * 1000 : (sinceTimeMs ?? undefined);
  return {
    previous: previous!,
    options: {
      follow: follow!,
      timestamps: timestamps!,
      since,
      limitBytes: limitBytes ?? undefined,
      tailLines: tailLines ?? undefined,
    },
  };
}

const knowsContainer = (pod: Pod, name: string) =>
  [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...(pod.spec?.ephemeralContainers ?? [])].some(
    (c) => c.name === name,
  );

export async function serveContainerLogs(
  ex: Exchange,
  state: KubeletState,
  t: { namespace: string; pod: string; container: string },
  acquire: () => (() => void) | undefined,
): Promise<void> {
  const parsed = parseQuery(ex.query);
  if ('code' in parsed) return reply(ex, parsed.code, parsed.message);
  const pod = state.pod(t.namespace, t.pod);
  if (!pod) return reply(ex, 404, `pod "${t.pod}" does not exist`);
  if (!knowsContainer(pod, t.container))
    return reply(ex, 404, `container "${t.container}" not found in pod "${t.pod}"`);
  const { current, previous } = instancesOf(await state.runtimeState(pod.metadata?.uid ?? ''), t.container);
  const instance = parsed.previous ? previous : current;
  if (!instance) {
    const message = parsed.previous
      ? `previous terminated container "${t.container}" in pod "${t.pod}" not found`
      : `container "${t.container}" in pod "${t.pod}" is waiting to start: ContainerCreating`;
    return reply(ex, 400, message);
  }
  // Only the current instance of a running container is followed; a previous one has ended.
  const follow = parsed.options.follow && !parsed.previous && instance.state === 'running';
  const release = follow ? acquire() : () => undefined;
  if (!release) return reply(ex, 429, 'too many streaming connections; try again later', { 'Retry-After': '1' });
  try {
    let reader: CriLogReader;
    const res = ex.res!;
    const sink = {
      get closed() {
        return res.destroyed || res.writableEnded;
      },
      write: (data: Buffer) => (res.write(data) ? true : new Promise((r) => res.once('drain', r).once('close', r))),
    };
    try {
      reader = new CriLogReader(instance.logPath, { ...parsed.options, follow }, sink, async () => {
        const status = await state.runtime.containerStatus(instance.id).catch(() => undefined);
        return status?.state === 'running';
      });
    } catch (err) {
      return reply(ex, 400, `failed to open log file "${instance.logPath}": ${(err as Error).message}`);
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
    await reader.run();
    if (!res.destroyed) res.end();
  } finally {
    release();
  }
}
