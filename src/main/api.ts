import { defaultConsoleDir } from '../api/plugins/console.js';
import { configOrExit, fatal, onShutdown } from './run.js';
import { createSystem } from './system.js';

// The HTTP API alone; run as many as you like behind a load balancer.
const config = configOrExit();
try {
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
