/** Runs scripts/bench/https-client.ts in a process of its own and returns what it measured. */
import { spawn } from 'node:child_process';

const CLIENT = new URL('./https-client.ts', import.meta.url).pathname;

export interface ClientResult {
  requestsPerSecond?: number;
  handshakesPerSecond?: number;
  p99Ms?: number;
  errors: number;
}

export function runClient(options: object): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`https client exited ${code}`)),
    );
  });
}
