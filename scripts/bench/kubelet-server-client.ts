/**
 * The far end of the kubelet-server bench's transfers, in a process of its own as kubectl would be
 * (so the kubelet's TLS and framing are not charged with the client's): reads everything a pod's
 * port sends, directly or through the kubelet's port-forward (SPDY or WebSocket channels), and
 * prints {"seconds":…,"bytes":…}. Arguments: one JSON object {mode, port, podIP, path, certPem, keyPem}.
 */
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { SpdyClient, upgrade } from '../../test/plugins/node-kubelet/spdy-client.js';

const args = JSON.parse(process.argv[2]!) as {
  mode: 'direct' | 'spdy' | 'ws';
  port: number;
  podIP: string;
  pod: string;
  certPem: string;
  keyPem: string;
};
const who = { certPem: args.certPem, keyPem: args.keyPem };

async function direct(): Promise<number> {
  const socket = connect(9000, args.podIP);
  let bytes = 0;
  socket.on('data', (b: Buffer) => {
    bytes += b.length;
  });
  await new Promise((r) => socket.on('close', r));
  return bytes;
}

async function spdy(): Promise<number> {
  const answer = await upgrade(args.port, `/portForward/default/${args.pod}`, who, {
    Connection: 'Upgrade',
    Upgrade: 'SPDY/3.1',
    'X-Stream-Protocol-Version': 'portforward.k8s.io',
  });
  const client = new SpdyClient(answer.socket, { discard: true });
  await client.open({ streamType: 'error', port: '9000', requestID: '0' });
  const data = await client.open({ streamType: 'data', port: '9000', requestID: '0' });
  await data.done;
  client.close();
  return data.received;
}

async function ws(): Promise<number> {
  const socket = new WebSocket(
    `wss://127.0.0.1:${args.port}/portForward/default/${args.pod}?port=9000`,
    ['v4.channel.k8s.io'],
    {
      cert: args.certPem,
      key: args.keyPem,
      rejectUnauthorized: false,
    },
  );
  let bytes = -2; // the port prefix
  socket.on('message', (d: Buffer) => {
    if (d[0] === 0) bytes += d.length - 1;
  });
  await new Promise((r) => socket.on('close', r));
  return bytes;
}

const started = performance.now();
const bytes = await { direct, spdy, ws }[args.mode]();
console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, bytes }));
process.exit(0);
