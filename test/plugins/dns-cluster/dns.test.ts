/**
 * dns-cluster inside a real server (role up) with proxy-userspace: the kube-dns service at the
 * tenth address of the (loopback) service range carries queries to the server; A and SRV records
 * of a ClusterIP service, a headless service's endpoints and their hostnames, ExternalName as a
 * CNAME, NXDOMAIN with the SOA, and other names forwarded to an upstream resolver (a fake one on
 * 127.0.0.x, so nothing leaves the machine). Over UDP and TCP.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { expect } from 'chai';
import * as dns from 'dns-packet';
import { api, startTestServer, type TestServer } from '../../helpers/server.js';
import { until } from '../proxy-userspace/helpers.js';

function queryUdp(
  host: string,
  port: number,
  name: string,
  type: dns.RecordType,
): Promise<dns.DecodedPacket | 'TIMEOUT'> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => done('TIMEOUT'), 2_000);
    const done = (answer: dns.DecodedPacket | 'TIMEOUT') => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    socket.on('message', (msg) => done(dns.decode(msg)));
    socket.send(
      dns.encode({ type: 'query', id: 7, flags: dns.RECURSION_DESIRED, questions: [{ type, name }] }),
      port,
      host,
    );
  });
}

function queryTcp(host: string, port: number, name: string, type: dns.RecordType): Promise<dns.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () =>
      socket.write(dns.streamEncode({ type: 'query', id: 9, questions: [{ type, name }] })),
    );
    let data = Buffer.alloc(0);
    socket.on('data', (d) => {
      data = Buffer.concat([data, d]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        socket.destroy();
        resolve(dns.decode(data.subarray(2)));
      }
    });
    socket.on('error', reject);
  });
}

const rcode = (p: dns.DecodedPacket) => (p as unknown as { rcode: string }).rcode;
const data = (p: dns.DecodedPacket) => (p.answers ?? []).map((a) => (a as { data: unknown }).data);

describe('dns-cluster: cluster names through the kube-dns service', function () {
  this.timeout(20_000);
  let ts: TestServer;
  let fake: ReturnType<typeof createSocket>;
  const DNS_IP = '127.96.0.10';

  before(async () => {
    // The "host's resolver": answers every A question with 192.0.2.7 (never asked anything real).
    fake = createSocket('udp4');
    fake.on('message', (msg, rinfo) => {
      const q = dns.decode(msg);
      const answer = dns.encode({
        type: 'response',
        id: q.id,
        questions: q.questions,
        answers: [{ type: 'A', name: q.questions![0]!.name, data: '192.0.2.7' }],
      });
      fake.send(answer, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => fake.bind(0, '127.0.0.41', resolve));
    ts = await startTestServer({
      role: 'up',
      plugins: {
        'authz-bootstrap-roles': {},
        'proxy-userspace': {},
        'dns-cluster': { config: { upstreams: [`127.0.0.41:${fake.address().port}`] } },
      },
    });
    const post = (path: string, body: unknown) => api(ts.url, 'POST', path, body);
    await post('/api/v1/namespaces/default/services', {
      metadata: { name: 'web' },
      spec: { ports: [{ name: 'http', port: 80 }] },
    });
    await post('/api/v1/namespaces/default/services', {
      metadata: { name: 'db' },
      spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] },
    });
    await post('/api/v1/namespaces/default/endpoints', {
      metadata: { name: 'db' },
      subsets: [
        {
          addresses: [{ ip: '127.0.0.50', hostname: 'db-0' }, { ip: '127.0.0.51' }],
          notReadyAddresses: [{ ip: '127.0.0.52' }],
          ports: [{ name: 'pg', port: 5432 }],
        },
      ],
    });
    await post('/api/v1/namespaces/default/services', {
      metadata: { name: 'outside' },
      spec: { type: 'ExternalName', externalName: 'db.example.org' },
    });
  });

  after(async () => {
    await ts?.close();
    fake?.close();
  });

  it('answers <svc>.<ns>.svc.cluster.local with the ClusterIP, asked at the kube-dns ClusterIP', async () => {
    const web = (await api(ts.url, 'GET', '/api/v1/namespaces/default/services/web')).body.spec.clusterIP;
    const answer = (await until('an answer', async () => {
      const a = await queryUdp(DNS_IP, 53, 'web.default.svc.cluster.local', 'A');
      return a !== 'TIMEOUT' && data(a).length ? a : undefined;
    })) as dns.DecodedPacket;
    expect(data(answer)).to.deep.equal([web]);
    expect(answer.flag_aa).to.equal(true);
    const svc = (await api(ts.url, 'GET', '/api/v1/namespaces/kube-system/services/kube-dns')).body;
    expect(svc.spec.clusterIP).to.equal(DNS_IP);
    expect(svc.spec.ports.map((p: { name: string }) => p.name)).to.deep.equal(['dns', 'dns-tcp']);
  });

  it('answers SRV for a named port, and the same over TCP', async () => {
    const srv = await queryTcp(DNS_IP, 53, '_http._tcp.web.default.svc.cluster.local', 'SRV');
    expect(data(srv)).to.deep.equal([{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }]);
  });

  it("answers a headless service with its ready endpoints, and an endpoint's hostname", async () => {
    const all = (await queryUdp(DNS_IP, 53, 'db.default.svc.cluster.local', 'A')) as dns.DecodedPacket;
    expect((data(all) as string[]).sort()).to.deep.equal(['127.0.0.50', '127.0.0.51']);
    const one = (await queryUdp(DNS_IP, 53, 'db-0.db.default.svc.cluster.local', 'A')) as dns.DecodedPacket;
    expect(data(one)).to.deep.equal(['127.0.0.50']);
    const srv = (await queryUdp(DNS_IP, 53, '_pg._tcp.db.default.svc.cluster.local', 'SRV')) as dns.DecodedPacket;
    expect((srv.answers as dns.SrvAnswer[]).map((a) => a.data.target).sort()).to.deep.equal([
      '127-0-0-51.db.default.svc.cluster.local',
      'db-0.db.default.svc.cluster.local',
    ]);
  });

  it('answers ExternalName with a CNAME, an unknown name with NXDOMAIN and the SOA', async () => {
    const cname = (await queryUdp(DNS_IP, 53, 'outside.default.svc.cluster.local', 'A')) as dns.DecodedPacket;
    expect(cname.answers![0]).to.include({ type: 'CNAME', data: 'db.example.org' });
    const missing = (await queryUdp(DNS_IP, 53, 'nope.default.svc.cluster.local', 'A')) as dns.DecodedPacket;
    expect(rcode(missing)).to.equal('NXDOMAIN');
    expect(missing.authorities![0]).to.include({ type: 'SOA', name: 'cluster.local' });
    const aaaa = (await queryUdp(DNS_IP, 53, 'web.default.svc.cluster.local', 'AAAA')) as dns.DecodedPacket;
    expect([rcode(aaaa), aaaa.answers!.length]).to.deep.equal(['NOERROR', 0]);
  });

  it('forwards names outside the cluster domain to the upstream resolver', async () => {
    const forwarded = (await queryUdp(DNS_IP, 53, 'example.org', 'A')) as dns.DecodedPacket;
    expect(data(forwarded)).to.deep.equal(['192.0.2.7']);
  });
});
