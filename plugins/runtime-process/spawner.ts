/**
 * Starting shims in batches. Node's spawn blocks the event loop until the child has exec'd (libuv
 * waits to report a failed exec): a few ms each for a process as large as a kubelet on a busy
 * machine, so a hundred pods started at once waited for each other's shims. Shims asked for while
 * a batch starts go in the next one (batch.ts): one `sh` forks them all and stays their parent,
 * reaping each as it ends (`wait`), as Node did. A shim gets exactly the container's environment
 * (assignments on its command line of the script, which sh reads from a pipe: no value is ever in
 * an argv), a session apart from the runtime's (the batch's `sh`, its parent, leads one: a signal
 * to the runtime's process group does not reach the shims) and stdio on /dev/null. Its SIGINT and
 * SIGQUIT are ignored, as in any background job of sh; the container's command gets them back at
 * their default (shim.ts). An environment variable whose name sh cannot assign takes Node's spawn.
 */
import { spawn } from 'node:child_process';
import type { RuntimeLogger } from 'skiff/sdk/runtime';
import { Batch } from './batch.js';
import { type HostTools, shQuote } from './host.js';

interface ShimRequest {
  argv: string[];
  env: Record<string, string>;
}

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const batches = new Map<string, Batch<ShimRequest, number | undefined>>();

/** Starts a shim detached (a session apart from the runtime, stdio ignored) with exactly `env`; its PID, undefined when it could not start. */
export function startShim(
  tools: HostTools,
  logger: RuntimeLogger,
  argv: string[],
  env: Record<string, string>,
): Promise<number | undefined> {
  if (!Object.keys(env).every((name) => SHELL_NAME.test(name))) {
    const shim = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore', env });
    shim.on('error', (err) => logger.error({ err }, 'shim failed to start'));
    shim.unref();
    return Promise.resolve(shim.pid);
  }
  let batch = batches.get(tools.sh);
  if (!batch) {
    batch = new Batch((requests) => startBatch(tools, requests, logger));
    batches.set(tools.sh, batch);
  }
  return batch.add({ argv, env });
}

/** One `sh` that starts every shim of the batch, prints their PIDs in order, then waits for them all. */
function startBatch(tools: HostTools, requests: ShimRequest[], logger: RuntimeLogger): Promise<(number | undefined)[]> {
  const lines = requests.map(({ argv, env }) => {
    const assignments = Object.entries(env).map(([name, value]) => `${name}=${shQuote(value)}`);
    const command = argv.map(shQuote);
    return `${[...assignments, ...command].join(' ')} </dev/null >/dev/null 2>&1 &\necho "$!"`;
  });
  return new Promise((resolve) => {
    const pids: (number | undefined)[] = [];
    const parent = spawn(tools.sh, ['-s'], { detached: true, stdio: ['pipe', 'pipe', 'ignore'], env: {} });
    const done = () => {
      parent.stdout.destroy();
      resolve(requests.map((_, i) => pids[i]));
    };
    let text = '';
    parent.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const complete = text.split('\n');
      text = complete.pop() ?? '';
      for (const pid of complete) pids.push(Number(pid) || undefined);
      if (pids.length >= requests.length) done();
    });
    parent.on('error', (err) => logger.error({ err }, 'shims failed to start'));
    parent.on('close', done);
    parent.stdin.on('error', () => undefined);
    parent.stdin.end(`${lines.join('\n')}\nwait\n`);
    parent.unref();
  });
}
