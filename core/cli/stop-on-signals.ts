/** SIGINT/SIGTERM for the long-running commands: stop gracefully and exit 0; a second signal exits at once. */
import type { Logger } from 'pino';

export function stopOnSignals(logger: Logger, doing: string, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) {
      logger.warn(`second ${signal}: exiting at once`);
      process.exit(1);
    }
    stopping = true;
    logger.info(`${signal} received: ${doing}`);
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
}
