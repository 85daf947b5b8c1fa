import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { SqliteStorage } from '../../plugins/storage-sqlite/sqlite-storage.js';

const fixture = fileURLToPath(new URL('./fixtures/sqlite-writer.ts', import.meta.url));
const repoRoot = join(dirname(fixture), '..', '..', '..');
const ACKED_BEFORE_KILL = 3000;

/** Runs the writer until it acknowledged `count` creates, then kill -9s it; returns what it acknowledged. */
function writeThenKill(path: string, count: number): Promise<Map<string, number>> {
  const acked = new Map<string, number>();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fixture, path], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let pending = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdout!.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const [key, rev] = line.split(' ');
      if (rev) acked.set(key!, Number(rev));
    }
    if (acked.size >= count) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && acked.size >= count) resolve(acked);
      else
        reject(
          new Error(
            `writer exited (code ${code}, signal ${signal}) after ${acked.size} acknowledged writes: ${stderr}`,
          ),
        );
    });
  });
}

describe('storage-sqlite durability', function () {
  this.timeout(30000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-durability-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged write when the process is killed with SIGKILL mid-stream', async () => {
    const path = join(dir, 'skiff.db');
    const acked = await writeThenKill(path, ACKED_BEFORE_KILL);
    const store = await SqliteStorage.open({ path });
    try {
      const stored = new Map((await store.list('/registry/durable/')).items.map((kv) => [kv.key, kv.modRevision]));
      const missing = [...acked].filter(([key, rev]) => stored.get(key) !== rev);
      expect(missing, `lost ${missing.length} of ${acked.size} acknowledged writes`).to.deep.equal([]);
      const revision = await store.currentRevision();
      expect(revision).to.equal(stored.size);
      expect((await store.create('/registry/durable/after', 'x')).modRevision).to.equal(revision + 1);
    } finally {
      await store.close();
    }
  });
});
