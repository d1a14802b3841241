import { defaultConsoleDir } from '../api/plugins/console.js';
import { createLogger } from '../lib/logger.js';
import { waitForDatabase } from './ensure-database.js';
import { configOrExit, fatal, onShutdown } from './run.js';
import { createSystem } from './system.js';

// The HTTP API alone; run as many as you like behind a load balancer.
const config = configOrExit();
try {
  // Started while PostgreSQL is away (a restart, a failover): wait for it rather than exit.
  await waitForDatabase(config.databaseUrl, createLogger(config.logLevel, { format: config.logFormat }), {
    create: false,
  });
  const system = await createSystem({
    config,
    roles: { api: true, worker: false },
    migrate: true,
    consoleDir: defaultConsoleDir(),
  });
  onShutdown(system.logger, () => system.stop());
  const address = await system.listen();
  system.logger.info({ address }, 'api listening');
} catch (err) {
  fatal(err);
}
