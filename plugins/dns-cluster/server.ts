/**
 * The DNS server: UDP and TCP on one address and port, packets read and written with dns-packet.
 * Names in the cluster zone are answered from the zone (authoritative); every other query is
 * forwarded as it came to the upstream resolvers in turn (the host's, by default) and their answer
 * relayed, as CoreDNS's `forward . /etc/resolv.conf`. A query that cannot be read is dropped; one
 * no upstream answers gets SERVFAIL.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import * as dns from 'dns-packet';
import type { ClusterZone } from './records.js';

const FORWARD_TIMEOUT_MS = 2_000;
const RCODES = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;

export interface Upstream {
  host: string;
  port: number;
}

function reply(query: dns.DecodedPacket, rcode: keyof typeof RCODES, extra: Partial<dns.Packet> = {}): Buffer {
  const flags = dns.AUTHORITATIVE_ANSWER | (query.flag_rd ? dns.RECURSION_DESIRED : 0) | dns.RECURSION_AVAILABLE;
  return dns.encode({
    type: 'response',
    id: query.id,
    flags: flags | RCODES[rcode],
    questions: query.questions,
    ...extra,
  });
}

/** One UDP exchange with an upstream resolver; undefined on timeout. */
function ask(upstream: Upstream, raw: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(upstream.host.includes(':') ? 'udp6' : 'udp4');
    const done = (answer?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(), FORWARD_TIMEOUT_MS);
    socket.on('message', (msg) => done(msg));
    socket.on('error', () => done());
    socket.send(raw, upstream.port, upstream.host);
  });
}

export class DnsServer {
  private udp?: UdpSocket;
  private tcp?: Server;
  private readonly connections = new Set<Socket>();
  queries = 0;

  constructor(
    private readonly zone: ClusterZone,
    private readonly upstreams: () => Upstream[],
  ) {}

  /** The answer to one query packet (undefined: drop it). */
  async answer(raw: Buffer): Promise<Buffer | undefined> {
    let query: dns.DecodedPacket;
    try {
      query = dns.decode(raw);
    } catch {
      return undefined;
    }
    this.queries++;
    const question = query.questions?.[0];
    if (!question || query.type !== 'query') return reply(query, 'NOTIMP');
    if (!this.zone.owns(question.name)) return this.forward(query, raw);
    const found = this.zone.lookup(question.name, question.type);
    const authorities = found.answers.length ? [] : [this.zone.soa()];
    return reply(query, found.rcode, { answers: found.answers, authorities });
  }

  private async forward(query: dns.DecodedPacket, raw: Buffer): Promise<Buffer> {
    for (const upstream of this.upstreams()) {
      const answer = await ask(upstream, raw);
      if (answer) return answer;
    }
    return reply(query, 'SERVFAIL');
  }

  /** Listens on host:port (0: a free one, the same for UDP and TCP); resolves with the port. */
  /**
   * UDP and TCP on one port. Port 0 picks a free UDP port, whose TCP twin may be taken by another
   * process: then both are given up and another pair tried (a few times).
   */
  async listen(host: string, port: number): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.listenOnce(host, port);
      } catch (err) {
        this.udp?.close();
        this.udp = undefined;
        const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (port !== 0 || !taken || attempt >= 10) throw err;
      }
    }
  }

  private async listenOnce(host: string, port: number): Promise<number> {
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.udp = udp;
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => resolve());
    });
    udp.on('error', () => undefined);
    udp.on('message', async (msg, rinfo) => {
      const answer = await this.answer(msg);
      if (answer) udp.send(answer, rinfo.port, rinfo.address);
    });
    const bound = udp.address().port;
    const tcp = createServer((socket) => this.serveTcp(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(bound, host, () => resolve());
    });
    this.tcp = tcp;
    return bound;
  }

  /** TCP: each message has a two-byte length before it (RFC 1035 4.2.2). */
  private serveTcp(socket: Socket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    // One message at a time, answered in order: a pipelined second query waits for the first.
    let chain = Promise.resolve();
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const message = Buffer.from(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        buffered = buffered.subarray(2 + message.length);
        chain = chain.then(async () => {
          const answer = await this.answer(message);
          if (!answer) return void socket.destroy();
          const length = Buffer.alloc(2);
          length.writeUInt16BE(answer.length);
          socket.write(Buffer.concat([length, answer]));
        });
      }
    });
  }

  close(): void {
    this.udp?.close();
    this.tcp?.close();
    for (const s of this.connections) s.destroy();
  }
}
