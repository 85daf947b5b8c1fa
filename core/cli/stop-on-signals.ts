/**
 * SIGINT/SIGTERM for the long-running commands: stop gracefully and exit 0; a second signal exits at
 * once. Started through npm (`npx skiff up`, `npm start`), the command also stops when its parent
 * exits: npm runs the bin under `sh -c`, and passes a SIGTERM it receives to that shell only, which
 * dies without passing it on, so the server would otherwise live on with no parent (PPID 1).
 */
import type { Logger } from 'pino';

/** How often the parent is looked for: a stop within a second, at one cheap syscall each time. */
const PARENT_POLL_MS = 500;

export function stopOnSignals(logger: Logger, doing: string, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string, event = `${signal} received`) => {
    if (stopping) {
      logger.warn(`second ${signal}: exiting at once`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`${event}: ${doing}`);
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  if (process.env.npm_command !== undefined) {
    watchParent(() => {
      // A terminal's Ctrl-C reaches the whole process group: the shell may die of it while we stop.
      if (!stopping) onSignal('SIGTERM', "the parent process (npm's shell) exited");
    });
  }
}

/** Calls `gone` once the process that started this one has exited: this process is then adopted
 * by another (init or a subreaper), so its parent PID changes; a reused PID cannot fool that. */
function watchParent(gone: () => void): void {
  const parent = process.ppid;
  // Already adopted by init (or init is npm, in a container): there is no wrapper to outlive.
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    gone();
  }, PARENT_POLL_MS);
  timer.unref();
}
