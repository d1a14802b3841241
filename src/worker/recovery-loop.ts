import type { Logger } from '../lib/logger.js';
import type { RecoveryService } from '../services/recovery.service.js';
import { startPeriodic } from './periodic.js';

/** Runs a recovery tick every `intervalMs` (never two at once) until stopped. */
export function startRecoveryLoop(recovery: RecoveryService, intervalMs: number, logger: Logger) {
  return startPeriodic({
    name: 'recovery loop',
    intervalMs,
    logger,
    tick: () => recovery.tick(),
    onResult: (r) => {
      if (r.redispatched > 0 || r.brokerReset) logger.info(r, 'recovery re-dispatched due emails');
    },
  });
}
