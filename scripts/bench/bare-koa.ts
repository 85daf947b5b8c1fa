/** Baselines: a bare koa app that serves one prebuilt Buffer, in-process or as its own process. */
import type { AddressInfo } from 'node:net';
import Koa from 'koa';

export async function withKoa<T>(body: Buffer, fn: (url: string) => Promise<T>): Promise<T> {
  const app = new Koa();
  app.use((ctx) => {
    ctx.set('Content-Type', 'application/json');
    ctx.body = body;
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    return await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

// Run as a process (start-up baseline): `node --import tsx scripts/bench/bare-koa.ts <port>`.
if (process.argv[1]?.endsWith('bare-koa.ts') && process.argv[2]) {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  app.listen(Number(process.argv[2]), '127.0.0.1');
}
