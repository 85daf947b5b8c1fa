/**
 * The watch load: N HTTP watches from one process (not the server's). Each event carries the time
 * it was written (annotation bench/t); lag = arrival - write. Prints one JSON line when done.
 */
import http from 'node:http';

const [url, nArg, expectedArg, timeoutArg] = process.argv.slice(2);
const n = Number(nArg);
const expected = Number(expectedArg);
const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const lags: number[] = [];
let connected = 0;
let delivered = 0;
let first = 0;
let last = 0;

function finish(): void {
  lags.sort((a, b) => a - b);
  const p99 = lags.length ? lags[Math.min(lags.length - 1, Math.ceil(0.99 * lags.length) - 1)] : Number.NaN;
  process.stdout.write(`${JSON.stringify({ delivered, seconds: (last - first) / 1000, p99Lag: p99 })}\n`);
  process.exit(0);
}

for (let i = 0; i < n; i++) {
  http.get(url!, { agent }, (res) => {
    if (++connected === n) process.stdout.write('ready\n');
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const t = Number(/"bench\/t":"(\d+)"/.exec(line)?.[1]);
        if (!t) continue;
        const now = Date.now();
        first ||= now;
        last = now;
        lags.push(now - t);
        if (++delivered === n * expected) finish();
      }
    });
  });
}
setTimeout(finish, Number(timeoutArg ?? 60_000)).unref();
