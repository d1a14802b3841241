import { type Config, loadConfig } from '../config/config.js';
import { ConfigError } from '../config/env.js';
import { createLogger, type Logger } from '../lib/logger.js';

/** Loads the config or exits with a message naming every bad variable. */
export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`mailsystem: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

/** Stops gracefully on SIGINT/SIGTERM (a second signal forces the exit). */
export function onShutdown(logger: Logger, stop: () => Promise<void>, graceMs = 30_000) {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'forced exit');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, graceMs);
    force.unref();
    stop()
      .then(() => process.exit(0))
      .catch((err) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export function fatal(err: unknown, logger: Logger = createLogger('info', { format: 'auto' })): never {
  logger.fatal({ err }, 'mailsystem failed to start');
  process.exit(1);
}
