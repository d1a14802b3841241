import type { Logger } from '../lib/logger.js';
import type { DomainsService } from '../services/domains.service.js';
import { startPeriodic } from './periodic.js';

/**
 * Re-checks the DNS records of domains whose check is due (pending ones with backoff, verified
 * ones daily); across processes one leader at a time, by advisory lock.
 */
export function startDomainCheckLoop(domains: DomainsService, intervalMs: number, logger: Logger) {
  return startPeriodic({
    name: 'domain check',
    intervalMs,
    logger,
    tick: () => domains.tick(),
    onResult: (r) => {
      if (r.checked > 0) logger.debug(r, 'domains checked');
    },
  });
}
