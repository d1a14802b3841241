import type { Logger } from '../lib/logger.js';
import type { AnalyticsService } from '../services/analytics.service.js';
import { startPeriodic } from './periodic.js';

/**
 * Folds new events into the analytics rollups every `intervalMs` until stopped. Across processes
 * the aggregator lock lets one fold at a time; while PostgreSQL is away the counts stay pending.
 */
export function startAggregatorLoop(analytics: AnalyticsService, intervalMs: number, logger: Logger) {
  return startPeriodic({
    name: 'analytics aggregator',
    intervalMs,
    logger,
    tick: () => analytics.fold(),
    onResult: (r) => {
      if (r && r.rows > 0) logger.debug(r, 'analytics folded');
    },
  });
}
