import { createLogger } from '../lib/logger.js';
import { waitForDatabase } from './ensure-database.js';
import { configOrExit, fatal, onShutdown } from './run.js';
import { createSystem } from './system.js';

// Workers alone (WORKER_QUEUES picks the queues); run as many as the provider allows.
const config = configOrExit();
try {
  // Started while PostgreSQL is away (a restart, a failover): wait for it rather than exit.
  await waitForDatabase(config.databaseUrl, createLogger(config.logLevel, { format: config.logFormat }), {
    create: false,
  });
  const system = await createSystem({ config, roles: { api: false, worker: true }, migrate: true });
  onShutdown(system.logger, () => system.stop());
  system.logger.info({ queues: config.worker.queues }, 'worker started');
} catch (err) {
  fatal(err);
}
