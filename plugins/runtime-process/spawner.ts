/**
 * Starting shims in batches. Node's spawn blocks the event loop until the child has exec'd (libuv
 * waits to report a failed exec): a few ms each for a process as large as a kubelet on a busy
 * machine, so a hundred pods starting at once waited for each other's shims. Shims asked for while
 * a batch starts go in the next one (batch.ts): one `sh` forks them all and stays their parent,
 * reaping each as it ends (`wait`), as Node did. A shim gets what Node's spawn gave it: exactly the
 * container's environment (assignments on its command line of the script, which sh reads from a
 * pipe: no value is ever in an argv), default signal dispositions (`env --default-signal`: sh's
 * background jobs would ignore SIGINT and SIGQUIT), a session apart from the runtime's (the batch's
 * `sh`, its parent, leads one: a signal to the runtime's process group does not reach the shims),
 * stdio on /dev/null. An environment variable whose name sh cannot assign, or a host whose `env`
 * lacks --default-signal (coreutils before 8.31), takes Node's spawn.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { RuntimeLogger } from 'skiff/sdk/runtime';
import { Batch } from './batch.js';
import { type HostTools, shQuote, which } from './host.js';

interface ShimRequest {
  argv: string[];
  env: Record<string, string>;
}

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
let envTool: string | undefined | null = null;
const batches = new Map<string, Batch<ShimRequest, number | undefined>>();

/** `env`, when it can reset signal dispositions; found once. */
function defaultSignalEnv(): string | undefined {
  if (envTool === null) {
    const found = which('env');
    envTool = found && spawnSync(found, ['--default-signal', 'true']).status === 0 ? found : undefined;
  }
  return envTool;
}

/** Starts a shim detached (a session apart from the runtime, stdio ignored) with exactly `env`; its PID, undefined when it could not start. */
export function startShim(
  tools: HostTools,
  logger: RuntimeLogger,
  argv: string[],
  env: Record<string, string>,
): Promise<number | undefined> {
  const envPath = defaultSignalEnv();
  if (!envPath || !Object.keys(env).every((name) => SHELL_NAME.test(name))) {
    const shim = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore', env });
    shim.on('error', (err) => logger.error({ err }, 'shim failed to start'));
    shim.unref();
    return Promise.resolve(shim.pid);
  }
  let batch = batches.get(tools.sh);
  if (!batch) {
    batch = new Batch((requests) => startBatch(tools, envPath, requests, logger));
    batches.set(tools.sh, batch);
  }
  return batch.add({ argv, env });
}

/** One `sh` that starts every shim of the batch, prints their PIDs in order, then waits for them all. */
function startBatch(
  tools: HostTools,
  envPath: string,
  requests: ShimRequest[],
  logger: RuntimeLogger,
): Promise<(number | undefined)[]> {
  const lines = requests.map(({ argv, env }) => {
    const assignments = Object.entries(env).map(([name, value]) => `${name}=${shQuote(value)}`);
    const command = [shQuote(envPath), '--default-signal', ...argv.map(shQuote)];
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
