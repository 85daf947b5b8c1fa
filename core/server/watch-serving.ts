/**
 * Serving a watch over HTTP: the watch is started (and may be refused with a plain Status) before
 * the 200 and its stream open; events that arrive in between are held, then written in order. Each
 * event goes out as JSON lines, as a Table row when asked for, or in a plugin serializer's frames.
 */
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { ApiService } from '../api/api-service.js';
import type { KubeObject, ResourceDefinition } from '../api/types.js';
import { type CacheEvent, makeEvent } from '../api/watch-events.js';
import { errors } from '../errors.js';
import type { Hooks } from '../hooks.js';
import type { Serializer } from '../wire/serializer.js';
import { auditStatus, emitAudit } from './audit.js';
import type { ResponseFormat } from './media-types.js';
import type { RequestState } from './request-state.js';
import { type IncludeObject, includeObjectOf, toTable } from './table.js';
import { warningsOf } from './warnings.js';
import { openWatchStream, type WatchEncoding, type WatchStream } from './watch-stream.js';

export interface WatchServingDeps {
  api: ApiService;
  hooks: Hooks;
  logger: Logger;
}

export class WatchServing {
  private readonly streams = new Set<WatchStream>();

  constructor(private readonly deps: WatchServingDeps) {}

  /** End every open watch (shutdown). */
  closeAll(): void {
    for (const w of this.streams) w.end();
  }

  /** Serves an authorized watch request; `table`: the resource, when the client asked for Tables. */
  async serve(ctx: Koa.Context, state: RequestState, format: ResponseFormat, table?: ResourceDefinition) {
    const timeout = timeoutSecondsOf(state.query);
    const include = table ? includeObjectOf(state.query) : 'Metadata';
    const sink = new WatchSink((e) => (table ? asTableEvent(table, e, include) : e));
    // Authorization and argument errors must become a normal Status response, so the stream
    // (and its 200 header) starts only after the watch was accepted. Authorized by the middleware already.
    const handle = await this.deps.api.watchAuthorized(
      {
        info: state.info!,
        user: state.user!,
        query: state.query,
        audit: state.audit,
        warn: (text) => warningsOf(ctx).add(text),
      },
      sink.onEvent,
      sink.onClose,
    );
    ctx.respond = false;
    const stream = openWatchStream(
      ctx.res,
      timeout,
      () => {
        handle.cancel();
        this.streams.delete(stream);
      },
      format === 'json' ? undefined : watchEncoding(format),
    );
    sink.attach(stream);
    this.streams.add(stream);
    if (state.audit) {
      auditStatus(state.audit, 200, undefined);
      emitAudit(this.deps.hooks, this.deps.logger, state.audit, 'ResponseStarted');
    }
    sink.flush();
    await stream.ended;
  }
}

function timeoutSecondsOf(query: URLSearchParams): number | undefined {
  const timeout = query.get('timeoutSeconds');
  if (timeout !== null && !/^\d+$/.test(timeout)) throw errors.badRequest(`invalid timeoutSeconds "${timeout}"`);
  return timeout === null ? undefined : Number(timeout);
}

/** Where a watch's events go: held until its stream opens, then written to it. */
class WatchSink {
  private stream: WatchStream | undefined;
  private readonly pending: CacheEvent[] = [];
  private closedEarly = false;

  constructor(private readonly convert: (e: CacheEvent) => CacheEvent) {}

  readonly onEvent = (e: CacheEvent): void => {
    if (this.stream) this.stream.onEvent(this.convert(e));
    else this.pending.push(this.convert(e));
  };

  readonly onClose = (): void => {
    if (this.stream) this.stream.end();
    else this.closedEarly = true;
  };

  attach(stream: WatchStream): void {
    this.stream = stream;
  }

  /** Writes what came before the stream opened, and ends it if the watch ended meanwhile. */
  flush(): void {
    for (const e of this.pending) this.stream!.onEvent(e);
    if (this.closedEarly) this.stream!.end();
  }
}

/**
 * A serializer's watch stream, named `<type>;stream=watch` as upstream names every non-JSON stream;
 * an event without a form in that media type goes out as its JSON line.
 */
function watchEncoding(serializer: Serializer): WatchEncoding {
  return {
    contentType: `${serializer.mediaType};stream=watch`,
    encode: (e: CacheEvent) => serializer.encodeWatchEvent!(e) ?? e.encoded(),
  };
}

// Watch events are shared by every watcher; their Table form is built once per event and include mode.
const tableEvents = new WeakMap<CacheEvent, Map<string, CacheEvent>>();

function asTableEvent(def: ResourceDefinition, e: CacheEvent, include: IncludeObject): CacheEvent {
  if (e.type === 'BOOKMARK' || e.type === 'ERROR') return e;
  const byMode = tableEvents.get(e) ?? new Map<string, CacheEvent>();
  tableEvents.set(e, byMode);
  let converted = byMode.get(include);
  if (!converted) {
    converted = makeEvent(e.type, toTable(def, e.object, include) as unknown as KubeObject);
    byMode.set(include, converted);
  }
  return converted;
}
