/**
 * Streams one watch to one HTTP response: headers flushed at once, one JSON line (or a plugin
 * serializer's frame) per event, encoded once for every watcher, ended by timeoutSeconds, by the
 * client going away, by the cache ending the watch, or by server shutdown. A client that cannot
 * keep up is cut off rather than buffered without bound, as upstream does.
 */
import type { ServerResponse } from 'node:http';
import type { CacheEvent } from '../api/watch-events.js';

const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
// Upstream's --min-request-timeout: watches without timeoutSeconds last 1800 s to 3600 s.
const DEFAULT_TIMEOUT_SECONDS = 1800;

export interface WatchStream {
  onEvent(e: CacheEvent): void;
  end(): void;
  readonly ended: Promise<void>;
}

/** How events go on the wire: JSON lines (the default), or a serializer's frames (protobuf's). */
export interface WatchEncoding {
  contentType: string;
  encode(e: CacheEvent): Buffer;
}

const JSON_LINES: WatchEncoding = { contentType: 'application/json', encode: (e) => e.encoded() };

export function openWatchStream(
  res: ServerResponse,
  timeoutSeconds: number | undefined,
  onEnd: () => void,
  encoding: WatchEncoding = JSON_LINES,
): WatchStream {
  res.writeHead(200, {
    'Content-Type': encoding.contentType,
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  let finished = false;
  let resolveEnded!: () => void;
  const ended = new Promise<void>((r) => {
    resolveEnded = r;
  });
  const seconds = timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS * (1 + Math.random());
  const timer = setTimeout(() => end(), seconds * 1000);
  function end(): void {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    onEnd();
    if (!res.writableEnded) res.end();
    resolveEnded();
  }
  res.on('close', end);
  return {
    onEvent(e: CacheEvent) {
      if (finished) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        res.destroy();
        end();
        return;
      }
      res.write(encoding.encode(e));
    },
    end,
    ended,
  };
}
