/** Read a watch over HTTP: the first `count` events (10 s at most), optionally while `act` runs. */
import { expect } from 'chai';
import type { KubeObject } from '../../core/api/types.js';

export interface WatchEvent {
  type: string;
  object: KubeObject;
}

export async function readWatchEvents(url: string, count: number, act?: () => Promise<void>): Promise<WatchEvent[]> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  expect(res.status).to.equal(200);
  const events: WatchEvent[] = [];
  const reader = res.body!.getReader();
  let buf = '';
  const actDone = act?.();
  const deadline = Date.now() + 10_000;
  try {
    while (events.length < count && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        events.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
    }
    await actDone;
  } finally {
    ac.abort();
  }
  return events;
}
