import type { Logger } from '../lib/logger.js';
import type { RecoveryService } from '../services/recovery.service.js';

/** Runs a recovery tick every `intervalMs` (never two at once) until stopped. */
export function startRecoveryLoop(recovery: RecoveryService, intervalMs: number, logger: Logger) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let failing = false;

  const run = async () => {
    try {
      const r = await recovery.tick();
      if (failing) logger.info('recovery loop works again');
      failing = false;
      if (r.redispatched > 0 || r.brokerReset) logger.info(r, 'recovery re-dispatched due emails');
    } catch (err) {
      // PostgreSQL or Redis is away: say so once, keep trying.
      if (!failing) logger.warn({ err }, 'recovery tick failed; will retry');
      failing = true;
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = run().finally(schedule);
    }, intervalMs);
  };
  running = run().finally(schedule);

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
