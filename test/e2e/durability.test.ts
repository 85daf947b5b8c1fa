/**
 * An acknowledged write survives kill -9 of the whole server: `skiff up` on SQLite takes concurrent
 * creates over HTTP, is killed with SIGKILL mid-stream, restarts on the same data dir, and every
 * object whose create was answered 201 is there.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

const BIN = new URL('../../scripts/skiff.mjs', import.meta.url).pathname;

function startSkiff(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [
    BIN,
    'up',
    '--insecure-port',
    'auto',
    '--secure-port',
    '0',
    '--data-dir',
    dataDir,
    '--log-level',
    'info',
  ]);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`skiff did not start: ${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: `http://127.0.0.1:${m[1]}` });
      }
    });
    child.on('exit', () => reject(new Error(`skiff exited: ${out}`)));
  });
}

describe('e2e: durability', function () {
  this.timeout(60_000);
  let dataDir: string;
  const children: ChildProcess[] = [];
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'skiff-kill9-'));
  });
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('every create answered 201 is present after kill -9 and restart', async () => {
    const first = await startSkiff(dataDir);
    children.push(first.child);
    const acknowledged: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop && i < 5000; i++) {
        const name = `w${w}-${i}`;
        try {
          const res = await fetch(`${first.url}/api/v1/namespaces/default/configmaps`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ metadata: { name }, data: { i: String(i) } }),
          });
          if (res.status === 201) acknowledged.push(name);
          await res.arrayBuffer();
        } catch {
          return; // the server is gone
        }
      }
    };
    const writers = Array.from({ length: 20 }, (_, w) => writer(w));
    const deadline = Date.now() + 15_000;
    while (acknowledged.length < 1000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    expect(acknowledged.length).to.be.greaterThan(500);

    const second = await startSkiff(dataDir);
    children.push(second.child);
    const list = await (await fetch(`${second.url}/api/v1/namespaces/default/configmaps`)).json();
    const present = new Set((list as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name));
    const lost = acknowledged.filter((n) => !present.has(n));
    expect(lost, `${lost.length} of ${acknowledged.length} acknowledged creates lost`).to.deep.equal([]);
    second.child.kill('SIGTERM');
  });
});
