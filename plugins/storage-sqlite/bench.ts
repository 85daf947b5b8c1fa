/**
 * A quick local measurement of create throughput and latency (not a test):
 *   node --import tsx plugins/storage-sqlite/bench.ts [writers=50] [seconds=10] [valueBytes=1500]
 * Writers each await one create at a time against a fresh store in a temp directory, with one
 * watcher attached (as the API server's watch cache would be) and 10,000 keys already present.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from './sqlite-storage.js';

const [writers = 50, seconds = 10, valueBytes = 1500] = process.argv.slice(2).map(Number);
const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));

async function main(): Promise<void> {
  const store = await SqliteStorage.open({ path: join(dir, 'skiff.db') });
  const value = JSON.stringify({ kind: 'ConfigMap', data: { filler: 'x'.repeat(valueBytes) } });
  for (let i = 0; i < 10_000; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, (_, j) => store.create(`/registry/seed/${i + j}`, value)));
  }
  let watched = 0;
  store.watch('/registry/', { fromRevision: await store.currentRevision(), onEvent: () => watched++ });
  const before = store.stats();
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const t0 = performance.now();
        await store.create(`/registry/configmaps/bench/w${w}-${n}`, value);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const after = store.stats();
  const reads = await measureReads(store, before.revision);
  await store.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1);
  const commits = after.commits - before.commits;
  console.log(
    `${writers} writers, ${seconds}s, ~${valueBytes}-byte values: ${(latencies.length / elapsed).toFixed(0)} creates/s, ` +
      `p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${pct(1)} ms, ` +
      `${commits} commits (${(latencies.length / commits).toFixed(1)} writes each), ${watched} events watched`,
  );
  console.log(reads);
}

/** GET and LIST against the 10,000 seeded keys, newest and at an old revision. */
async function measureReads(store: SqliteStorage, oldRevision: number): Promise<string> {
  const time = async (n: number, fn: (i: number) => Promise<unknown>) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn(i);
    return ((performance.now() - t0) / n).toFixed(3);
  };
  const get = await time(2000, (i) => store.get(`/registry/seed/${(i * 7919) % 10_000}`));
  const listAll = await time(5, () => store.list('/registry/seed/'));
  const page = await time(20, (i) => store.list('/registry/seed/', { limit: 500, after: `/registry/seed/${i * 400}` }));
  const oldPage = await time(20, (i) =>
    store.list('/registry/seed/', { revision: oldRevision, limit: 500, after: `/registry/seed/${i * 400}` }),
  );
  return `reads over 10,000 keys: GET ${get} ms, LIST all ${listAll} ms, LIST page of 500 ${page} ms, same page at an old revision ${oldPage} ms`;
}

main().finally(() => rmSync(dir, { recursive: true, force: true }));
