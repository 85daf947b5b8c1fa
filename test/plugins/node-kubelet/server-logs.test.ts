/**
 * /containerLogs/<ns>/<pod>/<container> on the kubelet's server, reading the CRI-format files the
 * runtime writes: the whole log, timestamps, tailLines, limitBytes, sinceSeconds and sinceTime,
 * follow (new lines arrive, the stream ends when the container does, and it carries on across a
 * log rotation without losing or repeating a line), previous after a restart, and upstream's
 * answers to bad options.
 */
import { request } from 'node:https';
import { expect } from 'chai';
import { isRoot, PODS, podSpec, rootReason, waitFor } from './helpers.js';
import { type ClientIdentity, kubeletRequest, type ServerHarness, startServerHarness } from './server-helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers
type Json = any;

const FIVE_LINES = [
  'sh',
  '-c',
  'for i in 1 2 3 4 5; do echo "line $i"; done; echo oops >&2; trap "exit 0" TERM; while true; do sleep 1; done',
];
const TICKER = ['sh', '-c', 'i=0; trap "exit 0" TERM; while true; do i=$((i+1)); echo "tick $i"; sleep 0.1; done'];
/** 400 numbered lines of ~40 bytes at 200 lines/s: a 4 KiB log rotates every half second or so. */
const CHATTY = [
  'sh',
  '-c',
  'i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "chatty line number $i padded to forty"; [ $((i % 20)) -eq 0 ] && sleep 0.1; done; sleep 1',
];
const CRASHER = ['sh', '-c', 'echo "run at $(date +%s%N)"; sleep 0.3; exit 1'];

/** Follows a log until `until` holds on what arrived (or the server ends it); then stops reading. */
function follow(
  port: number,
  path: string,
  who: ClientIdentity,
  until: (text: string) => boolean,
): Promise<{ text: string; ended: boolean }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req = request(
      { host: '127.0.0.1', port, path, cert: who.certPem, key: who.keyPem, rejectUnauthorized: false, agent: false },
      (res) => {
        res.on('data', (d: Buffer) => {
          text += d.toString();
          if (until(text)) {
            req.destroy();
            resolve({ text, ended: false });
          }
        });
        res.on('end', () => resolve({ text, ended: true }));
        res.on('error', () => resolve({ text, ended: false }));
      },
    );
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error('follow timed out')));
    req.end();
  });
}

describe('node-kubelet server: container logs', function () {
  this.timeout(90_000);
  let h: ServerHarness;
  let port: number;
  let who: ClientIdentity;
  const logs = (pod: string, query = '') => kubeletRequest(port, `/containerLogs/default/${pod}/main${query}`, who);

  before(async function () {
    if (!isRoot) {
      console.warn(`      skipped: ${rootReason}`);
      this.skip();
    }
    h = await startServerHarness();
    await h.serving('logs', { containerLogMaxSize: 4096, containerLogMaxFiles: 5 });
    port = await h.portOf('logs');
    who = h.apiserverClient;
    await h.admin.create(PODS, 'default', podSpec('five', 'logs', FIVE_LINES));
    await h.admin.create(PODS, 'default', podSpec('ticker', 'logs', TICKER));
    await h.admin.create(PODS, 'default', podSpec('crasher', 'logs', CRASHER));
    await waitFor(
      'five lines written',
      async () => (await logs('five')).body,
      (b) => b.includes('oops'),
    );
  });

  after(async () => {
    await h?.close();
  });

  it('answers the whole log, stdout and stderr as written', async () => {
    const res = await logs('five');
    expect(res.status).to.equal(200);
    expect(res.body).to.equal('line 1\nline 2\nline 3\nline 4\nline 5\noops\n');
  });

  it('timestamps=true puts RFC 3339 times (trailing zeros trimmed, as Go) before each line', async () => {
    const lines = (await logs('five', '?timestamps=true')).body.trim().split('\n');
    expect(lines).to.have.length(6);
    for (const line of lines) expect(line).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z (line \d|oops)$/);
  });

  it('tailLines, limitBytes, sinceSeconds and sinceTime select what they say', async () => {
    expect((await logs('five', '?tailLines=2')).body).to.equal('line 5\noops\n');
    expect((await logs('five', '?tail=1')).body).to.equal('oops\n');
    expect((await logs('five', '?tailLines=0')).body).to.equal('');
    expect((await logs('five', '?limitBytes=9')).body).to.equal('line 1\nli');
    expect((await logs('five', '?sinceSeconds=600')).body).to.include('line 1');
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect((await logs('five', `?sinceTime=${future}`)).body).to.equal('');
  });

  it('answers bad options as upstream: 400 for what does not decode, 422 for what is invalid', async () => {
    expect(await logs('five', '?tailLines=abc')).to.include({
      status: 400,
      body: '{"message": "Unable to decode query."}',
    });
    expect(await logs('five', '?tailLines=-1')).to.include({ status: 422, body: '{"message": "Invalid request."}' });
    expect((await logs('five', '?sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z')).status).to.equal(422);
    expect((await logs('five', '?limitBytes=0')).status).to.equal(422);
    expect((await kubeletRequest(port, '/containerLogs/default/five/nope', who)).status).to.equal(404);
    expect((await kubeletRequest(port, '/containerLogs/default/nope/main', who)).status).to.equal(404);
    const none = await logs('five', '?previous=true');
    expect(none).to.include({ status: 400, body: 'previous terminated container "main" in pod "five" not found' });
  });

  it('follow=true keeps the stream open and delivers lines written after it began', async () => {
    const first = Number(/tick (\d+)\n$/.exec((await logs('ticker')).body)?.[1] ?? 0);
    const { text, ended } = await follow(port, '/containerLogs/default/ticker/main?follow=true&tailLines=1', who, (t) =>
      t.includes(`tick ${first + 10}\n`),
    );
    expect(ended).to.equal(false);
    const ticks = text
      .trim()
      .split('\n')
      .map((l) => Number(l.split(' ')[1]));
    // Consecutive: nothing lost, nothing twice.
    expect(ticks).to.deep.equal(ticks.map((_, i) => ticks[0]! + i));
  });

  it('follow carries on across rotations (4 KiB logs) without losing or repeating a line, and ends with the container', async () => {
    await h.admin.create(PODS, 'default', podSpec('chatty', 'logs', CHATTY, { restartPolicy: 'Never' }));
    await waitFor(
      'chatty to start',
      async () => (await logs('chatty')).status,
      (s) => s === 200,
    );
    const { text, ended } = await follow(port, '/containerLogs/default/chatty/main?follow=true', who, () => false);
    expect(ended).to.equal(true);
    const numbers = text
      .trim()
      .split('\n')
      .map((l) => Number(/number (\d+)/.exec(l)?.[1]));
    expect(numbers[numbers.length - 1]).to.equal(400);
    // Whatever rotated away before the request began is not read (upstream reads only the current file).
    expect(numbers).to.deep.equal(numbers.map((_, i) => numbers[0]! + i));
    // A 4 KiB file holds about 47 of these records: more than 150 in a row means it crossed rotations.
    expect(numbers.length).to.be.greaterThan(150);
  });

  it('previous=true answers the log of the instance before the last restart', async () => {
    const pod = await waitFor(
      'crasher to have restarted',
      () => h.admin.get(PODS, 'default', 'crasher'),
      (p: Json) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      30_000,
    );
    expect((pod.status as Json).containerStatuses[0].restartCount).to.be.at.least(1);
    const previous = (await logs('crasher', '?previous=true')).body;
    const current = await waitFor(
      'the current run to log',
      async () => (await logs('crasher')).body,
      (b) => b.startsWith('run at'),
    );
    expect(previous).to.match(/^run at \d+\n$/);
    expect(previous).to.not.equal(current);
  });
});
