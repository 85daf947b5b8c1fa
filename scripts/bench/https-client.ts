/**
 * A load generator for TLS scenarios wrk cannot do (client certificates, handshake rates). It runs
 * in a process of its own, so it never shares the server's event loop, and prints one JSON line.
 * The plain-HTTP baseline of the same scenario uses this same generator, so ratios compare like
 * with like.
 *
 * argv[2]: JSON { mode: 'requests' | 'handshakes', url, connections, seconds, ca?, cert?, key?, headers? }
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';

interface Options {
  mode: 'requests' | 'handshakes';
  url: string;
  connections: number;
  seconds: number;
  ca?: string;
  cert?: string;
  key?: string;
  headers?: Record<string, string>;
}

const o = JSON.parse(process.argv[2]!) as Options;
const url = new URL(o.url);
const deadline = performance.now() + o.seconds * 1000;
const tls = { ca: o.ca, cert: o.cert, key: o.key };

async function requests(): Promise<object> {
  const secure = url.protocol === 'https:';
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, maxSockets: o.connections, ...tls })
    : new HttpAgent({ keepAlive: true, maxSockets: o.connections });
  const send = secure ? httpsRequest : httpRequest;
  const latencies: number[] = [];
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = send(url, { agent, headers: o.headers }, (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - started);
          else errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
  const loop = async () => {
    while (performance.now() < deadline) await one();
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: o.connections }, loop));
  const elapsed = (performance.now() - began) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: latencies.length / elapsed,
    p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN,
    errors,
  };
}

async function handshakes(): Promise<object> {
  let done = 0;
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = connect({ host: url.hostname, port: Number(url.port), servername: 'localhost', ...tls }, () => {
        done++;
        socket.destroy();
        resolve();
      });
      socket.on('error', () => {
        errors++;
        resolve();
      });
    });
  const loop = async () => {
    while (performance.now() < deadline) await one();
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: o.connections }, loop));
  return { handshakesPerSecond: done / ((performance.now() - began) / 1000), errors };
}

console.log(JSON.stringify(await (o.mode === 'requests' ? requests() : handshakes())));
