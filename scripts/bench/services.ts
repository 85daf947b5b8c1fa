/**
 * The service data plane (`npm run bench -- services`): HTTP requests per second through a
 * ClusterIP (proxy-userspace splicing each connection) beside the same load straight to the
 * endpoint, in the same run (goal ≥ 0.5, p99 of both reported); and the time from an Endpoints
 * change written to the API to the first new connection reaching the new endpoint (p99 ≤ 1 s);
 * DNS queries per second for a service name at the kube-dns ClusterIP (through the proxy), from a
 * client process of its own keeping 32 queries in flight.
 * The backends are HTTP servers in processes of their own on 127.0.0.x; the service range is
 * loopback, so no route is needed and the bench runs without root.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import * as dnsPacket from 'dns-packet';
import { api, startTestServer } from '../../test/helpers/server.js';
import { type LoadResult, load } from './load.js';
import { fmt, type Row } from './report.js';

const CHANGES = 40;

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** An HTTP server in its own process answering its name; resolves with its port. */
function backend(name: string, ip: string): Promise<{ child: ChildProcess; ip: string; port: number }> {
  const program = `const s=require('http').createServer((q,r)=>r.end(${JSON.stringify(name)}));s.listen(0,${JSON.stringify(ip)},()=>console.log(s.address().port))`;
  const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve({ child, ip, port: Number(String(d).trim()) }));
    child.once('exit', (code) => reject(new Error(`backend ${name} exited ${code}`)));
  });
}

/** The body of one HTTP/1.0 request on a fresh connection (a new connection sees the newest endpoints). */
function firstAnswer(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, host, () => s.end('GET / HTTP/1.0\r\n\r\n'));
    let data = '';
    s.on('data', (d) => {
      data += d;
    });
    s.on('close', () => resolve(data.slice(data.indexOf('\r\n\r\n') + 4)));
    s.on('error', () => resolve(''));
  });
}

/** A client in its own process: `seconds` of A queries for `name`, 32 in flight; prints answers/s. */
function dnsLoad(host: string, name: string, seconds: number): Promise<number> {
  const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name }] });
  const program = `const s=require('dgram').createSocket('udp4');const q=Buffer.from(${JSON.stringify(query.toString('base64'))},'base64');
let n=0;const end=Date.now()+${seconds * 1000};s.on('message',()=>{n++;if(Date.now()<end)s.send(q,53,${JSON.stringify(host)})});
for(let i=0;i<32;i++)s.send(q,53,${JSON.stringify(host)});
setInterval(()=>{for(let i=0;i<4;i++)s.send(q,53,${JSON.stringify(host)})},50);
setTimeout(()=>{console.log(n/${seconds});process.exit(0)},${seconds * 1000});`;
  const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('error', reject);
  });
}

/** Whether the server answers the name yet (the kube-dns Endpoints are written at start). */
function answers(host: string, name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => done(false), 500);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    socket.on('message', (m) => done((dnsPacket.decode(m).answers ?? []).length > 0));
    socket.send(dnsPacket.encode({ type: 'query', id: 2, questions: [{ type: 'A', name }] }), 53, host);
  });
}

export async function benchServices(seconds = 10): Promise<Row[]> {
  const ts = await startTestServer({
    role: 'up',
    plugins: { 'authz-bootstrap-roles': {}, 'proxy-userspace': {}, 'dns-cluster': {} },
  });
  const backends = [await backend('a', '127.0.0.30'), await backend('b', '127.0.0.31')];
  try {
    const svc = await api(ts.url, 'POST', '/api/v1/namespaces/default/services', {
      metadata: { name: 'bench' },
      spec: { ports: [{ port: 80 }] },
    });
    const clusterIP = svc.body.spec.clusterIP as string;
    const subsets = (b: { ip: string; port: number }) => [{ addresses: [{ ip: b.ip }], ports: [{ port: b.port }] }];
    let current = (
      await api(ts.url, 'POST', '/api/v1/namespaces/default/endpoints', {
        metadata: { name: 'bench' },
        subsets: subsets(backends[0]!),
      })
    ).body;
    for (let i = 0; (await firstAnswer(clusterIP, 80)) !== 'a'; i++) {
      if (i > 200) throw new Error('the ClusterIP never answered');
      await new Promise((r) => setTimeout(r, 10));
    }
    // Alternating rounds, the median of each: the machine is shared, and load comes and goes.
    const rounds: { direct: LoadResult; proxied: LoadResult }[] = [];
    const share = Math.max(1, Math.round(seconds / 3));
    for (let i = 0; i < 3; i++) {
      const direct = await load({
        url: `http://${backends[0]!.ip}:${backends[0]!.port}/`,
        connections: 16,
        seconds: share,
      });
      const proxied = await load({ url: `http://${clusterIP}/`, connections: 16, seconds: share });
      rounds.push({ direct, proxied });
    }
    const median = (pick: (r: (typeof rounds)[number]) => LoadResult) =>
      rounds.map(pick).sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[1]!;
    const direct = median((r) => r.direct);
    const proxied = median((r) => r.proxied);

    const delays: number[] = [];
    for (let i = 1; i <= CHANGES; i++) {
      const target = backends[i % 2]!;
      const name = i % 2 ? 'b' : 'a';
      const started = performance.now();
      current = (
        await api(ts.url, 'PUT', '/api/v1/namespaces/default/endpoints/bench', {
          metadata: { name: 'bench', resourceVersion: current.metadata.resourceVersion },
          subsets: subsets(target),
        })
      ).body;
      while ((await firstAnswer(clusterIP, 80)) !== name) {
        if (performance.now() - started > 10_000) throw new Error('traffic never followed the endpoint change');
      }
      delays.push(performance.now() - started);
    }
    const p99 = percentile(delays, 99);
    const DNS_IP = '127.96.0.10'; // the tenth address of the test server's 127.96.0.0/16
    const name = 'bench.default.svc.cluster.local';
    for (let i = 0; !(await answers(DNS_IP, name)); i++) if (i > 20) throw new Error('cluster DNS never answered');
    const qps = await dnsLoad(DNS_IP, name, Math.min(seconds, 5));
    return [
      {
        scenario: 'services: HTTP through a ClusterIP (16 connections, median of 3)',
        skiff: `${fmt.rps(proxied.requestsPerSecond)}, p99 ${fmt.ms(proxied.p99Ms)}`,
        baseline: `${fmt.rps(direct.requestsPerSecond)}, p99 ${fmt.ms(direct.p99Ms)} (straight to the endpoint)`,
        ratio: proxied.requestsPerSecond / direct.requestsPerSecond,
        target: '≥ 0.5 of direct',
        met: proxied.requestsPerSecond / direct.requestsPerSecond >= 0.5 && rounds.every((r) => r.proxied.errors === 0),
      },
      {
        scenario: `services: Endpoints change → new connections follow (${CHANGES} changes)`,
        skiff: `p50 ${fmt.ms(percentile(delays, 50))}, p99 ${fmt.ms(p99)}`,
        baseline: '-',
        target: 'p99 ≤ 1 s',
        met: p99 <= 1000,
      },
      {
        scenario: 'services: DNS A queries at the kube-dns ClusterIP (32 in flight)',
        skiff: fmt.rps(qps),
        baseline: '-',
        target: 'reported',
        met: qps > 0,
      },
    ];
  } finally {
    for (const b of backends) b.child.kill();
    await ts.close();
  }
}
